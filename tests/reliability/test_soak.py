"""Soak: list and price syncs, one after the other, against a fake that fails at random.

Runs SOAK_ROUNDS rounds (default 30, what CI runs; set it higher for a real soak) whose faults
and actions are all drawn from a generator seeded with SOAK_SEED, the same draws in every
round whatever happened before, so a seed replays its sequence. A ban's cooldown outlasts any
round; "waiting for it to pass" moves the clock past it (time-machine), so whether a run meets
a cooldown does not depend on the machine's speed. After every round nothing wrong may be
stored and the run must have ended; a run started during a cooldown must not ask anything.
At the end, once the faults stop, one list sync and one price sync must leave the database
exactly as a fault-free run would: every fund listed, every served bar stored once.
"""

import datetime as dt
import os
import random
from collections import Counter

import pytest
import time_machine
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

SOAK_ROUNDS = int(os.environ.get("SOAK_ROUNDS", "30"))
SOAK_SEED = int(os.environ.get("SOAK_SEED", "2"))  # its 30 rounds meet every outcome
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


def pass_the_cooldown(clock) -> None:
    """Move the clock just past the source's cooldown, if there is one."""
    cooldown = SourceCooldown.objects.filter(until__gt=timezone.now()).first()
    if cooldown is not None:
        clock.shift(cooldown.until - timezone.now() + dt.timedelta(milliseconds=10))


def soak_round(rng: random.Random, server, clock) -> tuple:
    """One round: faults, perhaps the wait for a ban to pass, one sync; its outcome."""
    server.recover()
    inject_faults(rng, server)
    wait_for_the_ban, list_sync = rng.random() < 0.75, rng.random() < 0.3
    moment, from_list = rng.choice(MOMENTS), rng.random() < 0.5
    if wait_for_the_ban:  # mostly
        pass_the_cooldown(clock)
    cooldown = active_cooldown("eastmoney")
    asked_before = len(server.requests)
    run = sync_etf_lists() if list_sync else sync_prices(now=moment, from_list=from_list)
    run.refresh_from_db()

    assert run.is_final, run
    if cooldown is not None:  # it outlasts the run: nothing may be asked
        assert server.requests[asked_before:] == [], run
        if "all workers pause until" in run.error_summary:
            return run.kind, "paused by a ban"
        # An after-close run with nothing to ask (every fund held the day) needs no pause.
        assert (run.status, run.rows_fetched) == (SyncStatus.SUCCEEDED, 0), run
    assert_nothing_wrong_stored(server)
    assert_no_duplicate_bars()
    return run.kind, run.status


def test_random_faults_leave_the_database_as_a_fault_free_run_would(start_fake_eastmoney, settings):
    settings.ETFSYNC_BAN_COOLDOWN_SECONDS = 3600  # passes only when the test moves the clock
    settings.ETFSYNC_READ_TIMEOUT = 0.3
    settings.ETFSYNC_PRICE_BATCH_ETFS = 3
    rng = random.Random(SOAK_SEED)
    server = start_fake_eastmoney(FUNDS)
    server.page_cap = 5  # three list pages: faults can hit one page of several
    outcomes = Counter()

    with time_machine.travel(timezone.now(), tick=True) as clock:
        for _ in range(SOAK_ROUNDS):
            outcomes[soak_round(rng, server, clock)] += 1
        server.recover()
        pass_the_cooldown(clock)
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
    print(f"soak: {SOAK_ROUNDS} rounds, seed {SOAK_SEED}: {dict(outcomes)}")
