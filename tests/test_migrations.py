"""Data migrations, run forward over data written with the schema before them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from etfs.models import StockInfo
from etfs.sync.freshness import refresh_bar_summary

BEFORE = ("etfs", "0010_tradingday")
FRESHNESS = ("etfs", "0011_freshness_and_revisions")


def migrate(target) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor


def latest() -> tuple[str, str]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes("etfs")[0]


@pytest.mark.django_db(transaction=True)
def test_the_freshness_migration_summarises_the_bars_already_stored():
    """Days 2024-01-02 to 01-10 are open but 01-06 and 01-07 (a weekend); one open day lacks a
    bar, one fund has no bars."""
    apps = migrate(BEFORE).loader.project_state([BEFORE]).apps
    security = apps.get_model("etfs", "StockInfo")
    trading_day = apps.get_model("etfs", "TradingDay")
    trading_day.objects.all().delete()
    days = [dt.date(2024, 1, day) for day in range(2, 11)]
    trading_day.objects.bulk_create(
        trading_day(date=day, is_open=day.weekday() < 5, source="shipped") for day in days
    )
    with_gap = security.objects.create(code="510300", exchange="XSHG", name="A", is_etf=True)
    without_bars = security.objects.create(code="510500", exchange="XSHG", name="B", is_etf=True)
    held = [day for day in days if day.weekday() < 5 and day != dt.date(2024, 1, 4)]
    apps.get_model("etfs", "DailyBar").objects.bulk_create(
        apps.get_model("etfs", "DailyBar")(
            security=with_gap,
            trade_date=day,
            open=Decimal("1"),
            high=Decimal("1"),
            low=Decimal("1"),
            close=Decimal("1"),
            volume=1,
            amount=Decimal("1"),
        )
        for day in held
    )
    try:
        migrate(FRESHNESS)
    finally:
        migrate(latest())  # the later migrations leave the summary alone

    summary = summaries()  # as the migration left it
    refresh_bar_summary([with_gap.pk, without_bars.pk])
    assert summary == summaries()
    assert summary["510300"] == (6, dt.date(2024, 1, 2), dt.date(2024, 1, 10), 1)
    assert summary["510500"] == (0, None, None, 0)


def summaries() -> dict:
    fields = ("code", "bar_count", "first_bar_date", "last_bar_date", "missing_days")
    return {code: tuple(rest) for code, *rest in StockInfo.objects.values_list(*fields)}
