"""The TimescaleDB lane: Django against a real TimescaleDB (2.23 on PostgreSQL 17, as PGlite).

    (cd tests/timescale && npm ci)
    .venv/bin/python -m pytest --ds etfsync_site.settings_timescale -m timescaledb tests/timescale

Its own settings module because the database differs: pytest-django opens the one "default"
connection for the whole session, so the PostgreSQL lane and this one cannot share a run. A
plain ``pytest`` collects these tests and skips them, saying how to run them; a run with the
lane's settings skips every test outside this folder.

The server (server.mjs) serves one database whatever name is asked for, and one connection at
a time: the session migrates that database in place (no test database is created) and Django
keeps its single connection. Each test still runs in a transaction that is rolled back.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from tests.timescale.pglite import missing_requirement, pglite_timescaledb

LANE = Path(__file__).resolve().parent
LANE_SETTINGS = "etfsync_site.settings_timescale"
RUN_LANE = f"pytest --ds {LANE_SETTINGS} -m timescaledb tests/timescale"
# The compression age the lane migrates with, so the test sees the setting reach the policy.
COMPRESS_AFTER_DAYS = 45
# Bars stored in the plain table before it becomes a hypertable (migrate_data). They span a
# chunk edge: '1 year' chunks are 360 days to TimescaleDB, and one ends on 2023-03-24.
LEGACY_CODE = "159001"
LEGACY_DAYS = [dt.date(2023, 3, 13) + dt.timedelta(days=n) for n in range(21)]


def _lane_skip_reason() -> str | None:
    if settings.SETTINGS_MODULE != LANE_SETTINGS:
        return f"the TimescaleDB lane runs on its own: {RUN_LANE}"
    return missing_requirement()


def pytest_collection_modifyitems(config, items):
    in_lane = [item for item in items if LANE in item.path.parents]
    reason = _lane_skip_reason()
    if reason:
        for item in in_lane:
            item.add_marker(pytest.mark.skip(reason=reason))
    if settings.SETTINGS_MODULE == LANE_SETTINGS:
        for item in items:
            if LANE not in item.path.parents:
                item.add_marker(pytest.mark.skip(reason="runs without --ds " + LANE_SETTINGS))


@pytest.fixture(scope="session")
def timescale_server():
    """A PGlite TimescaleDB server on a free port, for the session; yields the port."""
    with pglite_timescaledb() as port:
        yield port


def _store_legacy_bars() -> None:
    """Rows in the plain bars table as 0001 left it, for the hypertable step to migrate."""
    state = MigrationExecutor(connection).loader.project_state(("etfs", "0001_initial"))
    stock_info = state.apps.get_model("etfs", "StockInfo")
    daily_bar = state.apps.get_model("etfs", "DailyBar")
    security = stock_info.objects.create(code=LEGACY_CODE, exchange="XSHE", name="Legacy ETF")
    daily_bar.objects.bulk_create(
        daily_bar(
            security=security,
            trade_date=day,
            open=Decimal("2.0000"),
            high=Decimal("2.1000"),
            low=Decimal("1.9000"),
            close=Decimal("2.0500"),
            volume=1000,
            amount=Decimal("2050.000"),
        )
        for day in LEGACY_DAYS
    )


@pytest.fixture(scope="session")
def django_db_setup(timescale_server, django_db_blocker):
    """Migrate the server's one database in place, with bars stored before the hypertable
    step, then run the compression policy's job once (PGlite has no background workers)."""
    connection.close()
    connection.settings_dict["PORT"] = timescale_server
    with django_db_blocker.unblock():
        call_command("migrate", "etfs", "0001_initial", verbosity=0)
        _store_legacy_bars()
        with override_settings(ETFSYNC_COMPRESS_AFTER_DAYS=COMPRESS_AFTER_DAYS):
            call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT job_id FROM timescaledb_information.jobs"
                " WHERE proc_name = 'policy_compression' AND hypertable_name = 'etfs_dailybar'"
            )
            (job_id,) = cursor.fetchone()
            cursor.execute("CALL run_job(%s)", [job_id])
    yield
    connection.close()
