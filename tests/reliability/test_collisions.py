"""Two triggers of one sync at once never run its scope twice: the second joins the first.

The guard is a partial unique index on SyncRun.scope over queued/running top-level runs, so
the triggers below race on separate database connections (one per thread), as two web
requests, a command and a schedule would.
"""

import datetime as dt
import threading

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from etfs.models import DailyBar, SyncKind, SyncRun, SyncStatus, SyncTrigger
from etfs.sync.calendar import is_trading_day, shanghai_now
from etfs.sync.lists import sync_etf_lists
from etfs.sync.runs import SyncAlreadyRunning, create_run
from etfs.tasks import enqueue_sync, execute_run, scheduled_sync
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.factories import make_run
from tests.qcluster import wait_until
from tests.reliability.conftest import (
    LIST,
    assert_no_duplicate_bars,
    kline_codes,
    refreshed,
    sync_prices,
)
from tests.threads import InThread

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGERS = 8


@pytest.fixture
def server(fake_eastmoney, settings):
    """Six listed funds, fetched one at a time at 0.05 s a request (a sync takes ~0.3 s)."""
    settings.ETFSYNC_CONCURRENCY = 1
    sync_etf_lists()
    fake_eastmoney.requests.clear()
    fake_eastmoney.latency = 0.05
    return fake_eastmoney


def all_at_once(target, *args, count: int = TRIGGERS, **kwargs) -> list:
    """Call ``target`` from ``count`` threads released together; return their results."""
    barrier = threading.Barrier(count)

    def call():
        barrier.wait()
        return target(*args, **kwargs)

    threads = [InThread(call) for _ in range(count)]
    return [thread.join() for thread in threads]


@pytest.mark.parametrize("kind", [SyncKind.ETF_LISTS, SyncKind.ETF_PRICES])
def test_simultaneous_enqueues_make_one_run_and_one_task(kind):
    results = all_at_once(enqueue_sync, kind, SyncTrigger.ADMIN, {})

    [run] = SyncRun.objects.all()
    assert [created for _, created in results].count(True) == 1
    assert {joined.pk for joined, _ in results} == {run.pk}
    assert run.status == SyncStatus.QUEUED
    assert OrmQ.objects.count() == 1


@pytest.mark.parametrize("kind", [SyncKind.ETF_LISTS, SyncKind.ETF_PRICES])
def test_simultaneous_in_process_starts_make_one_running_run(kind):
    results = all_at_once(create_run, kind, SyncTrigger.COMMAND, {}, status=SyncStatus.RUNNING)

    [run] = SyncRun.objects.all()
    assert [created for _, created in results].count(True) == 1
    assert {joined.pk for joined, _ in results} == {run.pk}
    assert run.status == SyncStatus.RUNNING


def test_a_price_sync_started_while_one_runs_is_refused_and_asks_nothing(server):
    first = InThread(sync_prices)
    wait_until(lambda: SyncRun.objects.filter(status=SyncStatus.RUNNING).exists(), "a run")

    with pytest.raises(SyncAlreadyRunning) as refused:
        sync_prices()

    run = first.join()
    assert refused.value.run.pk == run.pk
    assert run.status == SyncStatus.SUCCEEDED
    assert SyncRun.objects.filter(kind=SyncKind.ETF_PRICES).count() == 1
    assert set(kline_codes(server.requests).values()) == {1}  # each fund asked once


def test_overlapping_scopes_run_side_by_side_and_store_each_bar_once(server, settings):
    """All funds and three of them are different scopes; their writes race on the same bars."""
    settings.ETFSYNC_PRICE_BATCH_ETFS = 1
    server.latency = 0
    some = tuple(sorted(fund.code for fund in server.funds.values())[:3])
    barrier = threading.Barrier(2)

    def run(**options):
        barrier.wait()
        return sync_prices(**options)

    whole, part = InThread(run), InThread(run, codes=some)
    whole, part = whole.join(), part.join()

    assert (whole.status, part.status) == (SyncStatus.SUCCEEDED, SyncStatus.SUCCEEDED)
    served = served_bars(server)
    assert whole.rows_created + part.rows_created == len(served) == DailyBar.objects.count()
    assert_no_duplicate_bars()
    assert_same_bars(stored_bars(), served)


def test_a_task_delivered_twice_runs_once(server):
    run, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})

    results = all_at_once(execute_run, run.pk, count=2)

    run = refreshed(run)
    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert f"run #{run.pk}: succeeded" in results
    assert set(kline_codes(server.requests).values()) == {1}
    assert run.rows_created == len(served_bars(server)) == DailyBar.objects.count()


def test_a_fan_out_delivered_twice_makes_its_chunks_once(server, settings):
    settings.ETFSYNC_PRICE_CHUNK_ETFS = 3
    parent, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})

    all_at_once(execute_run, parent.pk, count=2)

    assert refreshed(parent).status == SyncStatus.RUNNING
    assert parent.chunks.count() == 2
    assert OrmQ.objects.count() == 1 + 2  # the parent's task (not consumed here) + 2 chunks
    assert server.requests == []


def test_a_stale_run_does_not_block_the_scope(server, settings):
    """A run whose worker died (no heartbeat for longer than the limit) is failed, not joined."""
    dead = make_run(
        SyncKind.ETF_PRICES,
        status=SyncStatus.RUNNING,
        scope="etf_prices",
        heartbeat_at=timezone.now() - dt.timedelta(seconds=settings.ETFSYNC_STALE_RUN_SECONDS + 1),
    )

    run, created = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {})

    assert created and run.pk != dead.pk
    dead = refreshed(dead)
    assert dead.status == SyncStatus.FAILED
    assert dead.error_summary.startswith("The worker stopped sending heartbeats")


@pytest.fixture
def trading_day():
    today = shanghai_now().date()
    if not is_trading_day(today):
        pytest.skip(
            f"today ({today}, Asia/Shanghai) is not a trading day: scheduled_sync returns "
            "before it looks for a run, so there is nothing to collide with"
        )


def test_a_schedule_firing_while_its_run_is_going_starts_nothing(server, trading_day):
    server.latency = 0.5  # the one list page takes half a second
    first = InThread(scheduled_sync, SyncKind.ETF_LISTS)
    running = wait_until(
        lambda: SyncRun.objects.filter(status=SyncStatus.RUNNING).first(), "the first run"
    )

    second = scheduled_sync(SyncKind.ETF_LISTS)

    assert second == f"run #{running.pk} is already running; not starting another"
    assert first.join() == f"run #{running.pk}: succeeded"
    assert SyncRun.objects.filter(trigger=SyncTrigger.SCHEDULE).count() == 1
    assert refreshed(running).trigger == SyncTrigger.SCHEDULE
    assert len(server.paths(LIST)) == 1


def test_a_price_schedule_joins_a_run_started_from_the_admin(server, trading_day):
    """The same parameters from another door: one scope (different options would be another)."""
    queued, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})

    message = scheduled_sync(SyncKind.ETF_PRICES, {"start_year": 2024})

    assert message == f"run #{queued.pk} is already queued; not starting another"
    assert SyncRun.objects.filter(kind=SyncKind.ETF_PRICES).count() == 1
    assert server.requests == []
