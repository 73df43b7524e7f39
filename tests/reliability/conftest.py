"""Helpers of the reliability tests: a fake Eastmoney, real qcluster processes, bar checks.

The fake's histories run 2024-01-01..2024-03-29; in-process syncs are given ``now`` (after the
close of 2024-03-29) so that "the last final day" does not depend on the wall clock.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Count

from etfs.models import DailyBar, SyncRun
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests.conftest import HISTORY_END, HISTORY_START
from tests.test_qcluster import stop_process_group, this_tests_database_url

PROJECT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
LAST_DAY = HISTORY_END
AFTER_CLOSE = dt.datetime.combine(LAST_DAY, dt.time(16), tzinfo=SHANGHAI)
KLINE = "/api/qt/stock/kline/get"
LIST = "/api/qt/clist/get"


def sync_prices(now: dt.datetime = AFTER_CLOSE, **options) -> SyncRun:
    options.setdefault("start_year", HISTORY_START.year)
    run = sync_etf_prices(PriceOptions(**options), now=now)
    run.refresh_from_db()
    return run


def served_bars(server, codes=None) -> dict:
    """(code, day) -> FakeBar for every bar the fake serves up to LAST_DAY."""
    return {
        (fund.code, bar.day): bar
        for fund in server.funds.values()
        if codes is None or fund.code in codes
        for bar in fund.bars
        if bar.day <= LAST_DAY
    }


def stored_bars() -> dict:
    """(code, day) -> DailyBar for every stored bar."""
    return {
        (row.security.code, row.trade_date): row
        for row in DailyBar.objects.select_related("security")
    }


def assert_same_bars(stored: dict, served: dict) -> None:
    assert sorted(stored) == sorted(served)
    for key, fake in served.items():
        row = stored[key]
        assert (row.open, row.close, row.high, row.low) == (
            fake.open,
            fake.close,
            fake.high,
            fake.low,
        ), key
        assert (row.volume, row.amount) == (fake.lots * 100, fake.amount), key


def assert_whole_funds(server) -> set[str]:
    """Every fund holds all of its served bars or none (a batch commits whole funds).

    Returns the codes that hold bars.
    """
    stored = stored_bars()
    served = served_bars(server)
    stored_codes = {code for code, _ in stored}
    for code in stored_codes:
        mine = {key for key in stored if key[0] == code}
        assert mine == {key for key in served if key[0] == code}, f"{code} is half written"
    assert_same_bars(stored, {key: bar for key, bar in served.items() if key[0] in stored_codes})
    return stored_codes


def assert_no_duplicate_bars() -> None:
    duplicates = (
        DailyBar.objects.values("security", "trade_date").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert not duplicates.exists()


def kline_codes(requests) -> Counter:
    """How many k-line requests each code got."""
    return Counter(
        request.args["secid"].partition(".")[2] for request in requests if KLINE in request.path
    )


def wait_until(condition, what: str, *, timeout: float = 30, process=None, interval=0.05):
    """Poll ``condition`` until it returns something true; fail with the cluster's log if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if process is not None and process.poll() is not None:
            break
        time.sleep(interval)
    log = ""
    if process is not None:
        log = "\nqcluster log:\n" + process.log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"{what} did not happen within {timeout} s{log}")


def refreshed(run: SyncRun) -> SyncRun:
    run.refresh_from_db()
    return run


class InThread:
    """Run ``target`` in a thread with its own database connection; keep its result or error."""

    def __init__(self, target, *args, **kwargs):
        self.result = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(target, args, kwargs), daemon=True)
        self.thread.start()

    def _run(self, target, args, kwargs):
        try:
            self.result = target(*args, **kwargs)
        except BaseException as exc:  # handed to the test through join()
            self.error = exc
        finally:
            connection.close()

    def join(self, timeout: float = 30):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the thread did not finish within {timeout} s"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def start_qcluster(tmp_path):
    """Start ``manage.py qcluster`` in its own process group against this test's database.

    ``env`` adds ETFSYNC_* and Q_* variables (see cluster_settings for the concurrency).
    """
    processes = []

    def start(server, **env: str) -> subprocess.Popen:
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in ("REDIS_URL", "DATABASE_URL")
        }
        environment.update(
            DJANGO_SETTINGS_MODULE="tests.reliability.cluster_settings",
            TEST_DATABASE_URL=this_tests_database_url(),
            ETFSYNC_TEST_PUSH2_URL=server.url,
            ETFSYNC_TEST_PUSH2HIS_URL=server.url,
            Q_WORKERS="1",
            Q_POLL="0.1",
            PYTHONUNBUFFERED="1",
        )
        environment.update(env)
        log_path = tmp_path / f"qcluster-{len(processes)}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=PROJECT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process.log_path = log_path
        processes.append(process)
        return process

    yield start
    for process in processes:
        stop_process_group(process)
