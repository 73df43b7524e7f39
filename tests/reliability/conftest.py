"""Helpers of the reliability tests: in-process syncs, bar checks, qclusters on their settings.

The fake's histories run 2024-01-01..2024-03-29; in-process syncs are given ``now`` (after the
close of 2024-03-29) so that "the last final day" does not depend on the wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count

from etfs.models import DailyBar, SyncRun
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.conftest import HISTORY_END, HISTORY_START

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


def refreshed(run: SyncRun) -> SyncRun:
    run.refresh_from_db()
    return run


@pytest.fixture
def start_qcluster(start_qcluster):
    """Clusters on cluster_settings (``env`` may set their concurrency), polling every 0.1 s."""
    return partial(
        start_qcluster, settings_module="tests.reliability.cluster_settings", Q_POLL="0.1"
    )
