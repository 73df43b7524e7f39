"""Soak: list and price syncs, one after the other, against a fake that fails at random.

Runs for SOAK_SECONDS (default 20, what CI runs; set it higher for a real soak) with faults
drawn from a seeded generator (SOAK_SEED). After every round nothing wrong may be stored and
the run must have ended; a run started during a ban's cooldown must not have asked anything.
At the end, once the faults stop, one list sync and one price sync must leave the database
exactly as a fault-free run would: every fund listed, every served bar stored once.
"""

import datetime as dt
import os
import random
import time
from collections import Counter

import pytest
from django.utils import timezone

from etfs.models import SourceCooldown, StockInfo, SyncKind, SyncRun, SyncStatus
from etfs.sync.cooldown import active_cooldown
from etfs.sync.lists import sync_etf_lists
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.reliability.conftest import (
    AFTER_CLOSE,
    LAST_DAY,
    LIST,
    SHANGHAI,
    assert_no_duplicate_bars,
    sync_prices,
)

pytestmark = [pytest.mark.soak, pytest.mark.django_db(transaction=True)]

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "20"))
SOAK_SEED = int(os.environ.get("SOAK_SEED", "20240329"))
FUNDS = 12
KLINE_FAULTS = (
    "timeout drop 500 502 503 429 429-retry-after 403 html empty truncated wrong-shape jsonp "
    "data-null garbage"
).split()
LIST_FAULTS = (
    "drop 500 503 429 403 html empty truncated wrong-shape diff-object jsonp data-null"
).split()
MOMENTS = (
    dt.datetime.combine(LAST_DAY - dt.timedelta(days=1), dt.time(16), tzinfo=SHANGHAI),
    dt.datetime.combine(LAST_DAY, dt.time(10), tzinfo=SHANGHAI),  # before the close
    AFTER_CLOSE,
)


def inject_faults(rng: random.Random, server) -> None:
    codes = sorted(fund.code for fund in server.funds.values())
    for _ in range(rng.randint(0, 4)):
        times = rng.randint(1, 3)
        if rng.random() < 0.7:
            server.fail(rng.choice(KLINE_FAULTS), times=times, code=rng.choice(codes))
        else:
            page = rng.choice((None, 1, 2, 3))
            server.fail(rng.choice(LIST_FAULTS), times=times, path=LIST, page=page)
    if rng.random() < 0.1:
        server.shrink_list(rng.choice((0.5, 0.8)))


def assert_nothing_wrong_stored(server) -> None:
    stored, served = stored_bars(), served_bars(server)
    assert set(stored) <= set(served)
    assert_same_bars(stored, {key: served[key] for key in stored})


def expected_listings(server) -> set:
    exchanges = {1: "XSHG", 0: "XSHE"}
    return {
        (fund.code, exchanges[fund.market], fund.name, True, "listed")
        for fund in server.funds.values()
    }


def test_random_faults_leave_the_database_as_a_fault_free_run_would(start_fake_eastmoney, settings):
    settings.ETFSYNC_BAN_COOLDOWN_SECONDS = 0.5
    settings.ETFSYNC_READ_TIMEOUT = 0.3
    settings.ETFSYNC_PRICE_BATCH_ETFS = 3
    rng = random.Random(SOAK_SEED)
    server = start_fake_eastmoney(FUNDS)
    server.page_cap = 5  # three list pages: faults can hit one page of several
    outcomes = Counter()
    deadline = time.monotonic() + SOAK_SECONDS

    while time.monotonic() < deadline:
        server.recover()
        inject_faults(rng, server)
        cooldown = active_cooldown("eastmoney")
        if cooldown is not None and rng.random() < 0.75:  # mostly wait for the ban to pass
            time.sleep(max(0.0, (cooldown.until - timezone.now()).total_seconds()) + 0.01)
            cooldown = None
        asked_before = len(server.requests)
        if rng.random() < 0.3:
            run = sync_etf_lists()
        else:
            run = sync_prices(now=rng.choice(MOMENTS), from_list=rng.random() < 0.5)
        run.refresh_from_db()

        assert run.is_final, run
        if cooldown is not None:
            # Nothing asked before the cooldown's end (it may end while the run starts).
            asked = server.requests[asked_before:]
            assert all(r.received_at >= cooldown.until.timestamp() for r in asked), run
            if not asked:
                assert "all workers pause until" in run.error_summary
                outcomes[run.kind, "paused by a ban"] += 1
                continue
        assert_nothing_wrong_stored(server)
        assert_no_duplicate_bars()
        outcomes[run.kind, run.status] += 1

    assert sum(outcomes.values()) >= 5, outcomes
    server.recover()
    cooldown = SourceCooldown.objects.first()
    if cooldown is not None:
        time.sleep(max(0.0, (cooldown.until - timezone.now()).total_seconds()) + 0.05)

    lists = sync_etf_lists()
    prices = sync_prices()

    assert lists.status == SyncStatus.SUCCEEDED, lists.error_summary
    assert prices.status == SyncStatus.SUCCEEDED, prices.error_summary
    stored_listings = set(
        StockInfo.objects.values_list("code", "exchange", "name", "is_etf", "status")
    )
    assert stored_listings == expected_listings(server)
    assert_no_duplicate_bars()
    assert_same_bars(stored_bars(), served_bars(server))
    assert not SyncRun.objects.active().exists()
    assert {SyncKind.ETF_LISTS, SyncKind.ETF_PRICES} <= {kind for kind, _ in outcomes}
    print(f"soak: {sum(outcomes.values())} runs in {SOAK_SECONDS:g} s: {dict(outcomes)}")
