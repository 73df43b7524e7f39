"""Crash safety: a worker killed, or cut off from its database, in the middle of a price sync.

A real qcluster fetches 16 funds one at a time from a slow fake (0.25 s a request) and commits
every 2 funds. The test's own settings use the same 3 s stale-run limit as the cluster's.
"""

import datetime as dt
import os
import signal

import pytest
from django.db import connection
from django.utils import timezone

from etfs.models import DailyBar, SyncKind, SyncStatus, SyncTrigger
from etfs.sync.lists import sync_etf_lists
from etfs.sync.runs import recover_stale_runs
from etfs.tasks import enqueue_sync
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.qcluster import wait_until
from tests.reliability.conftest import (
    KLINE,
    assert_no_duplicate_bars,
    assert_whole_funds,
    kline_codes,
    refreshed,
    sync_prices,
)

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

STALE_SECONDS = 3
FUNDS = 16
HEARTBEAT_LOST = "The worker stopped sending heartbeats"


@pytest.fixture
def slow_sync(start_fake_eastmoney, start_qcluster, settings):
    """A listed fake of 16 funds at 0.25 s a request, a cluster, and a queued price run."""
    settings.ETFSYNC_STALE_RUN_SECONDS = STALE_SECONDS
    server = start_fake_eastmoney(FUNDS)
    sync_etf_lists()
    server.latency = 0.25
    cluster = start_qcluster(
        server,
        ETFSYNC_PRICE_BATCH_ETFS="2",
        ETFSYNC_CONCURRENCY="1",
        ETFSYNC_STALE_RUN_SECONDS=str(STALE_SECONDS),
        ETFSYNC_PRICE_CHUNK_ETFS="50",
    )
    run, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})
    return server, cluster, run


def funds_with_bars() -> int:
    return DailyBar.objects.values("security").distinct().count()


def assert_the_next_run_completes(server, complete_before: set[str]) -> None:
    """A new run stores the rest, once, and asks the complete funds only for the look-back."""
    server.latency = 0
    server.requests.clear()
    before = DailyBar.objects.count()

    next_run = sync_prices()

    assert next_run.status == SyncStatus.SUCCEEDED, next_run.error_summary
    served = served_bars(server)
    assert DailyBar.objects.count() == len(served)
    assert next_run.rows_created == len(served) - before
    assert_no_duplicate_bars()
    assert_same_bars(stored_bars(), served)
    for request in server.paths(KLINE):
        code = request.args["secid"].partition(".")[2]
        # last stored bar 2024-03-29 minus the 10-day look-back; from the start year otherwise
        expected = "20240319" if code in complete_before else "20240101"
        assert request.args["beg"] == expected, code


def test_a_killed_worker_loses_no_committed_batch_and_the_next_run_completes(slow_sync):
    server, cluster, run = slow_sync
    wait_until(lambda: funds_with_bars() >= 4, "two batches committed", process=cluster)

    os.killpg(cluster.pid, signal.SIGKILL)
    cluster.wait(timeout=10)

    run = refreshed(run)
    assert run.status == SyncStatus.RUNNING  # killed mid-run, nobody could finish it
    committed = set(stored_bars())
    complete = assert_whole_funds(server)  # no half-written batch: whole funds or nothing
    assert 4 <= len(complete) < FUNDS
    # Funds are counted done as they are fetched; rows only with the batch that stores them:
    # the dead run claims no row it lost.
    assert run.rows_created == len(committed) and run.items_done >= len(complete)

    # The dead run is noticed from its heartbeat (recover_stale_runs also runs before every
    # new run and from a schedule), once the stale limit has passed since the last one. The
    # wait is generous, not a bound on the machine's speed.
    wait_until(lambda: recover_stale_runs() or None, "the stale run being noticed", timeout=60)
    run = refreshed(run)
    assert run.status == SyncStatus.FAILED
    assert run.finished_at - run.heartbeat_at >= dt.timedelta(seconds=STALE_SECONDS)
    assert run.error_summary.startswith(HEARTBEAT_LOST)
    assert committed <= set(stored_bars())  # nothing committed was lost

    assert_the_next_run_completes(server, complete)


def terminate_other_backends() -> int:
    """Cut every other connection to this test database, as a database restart would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_worker_that_loses_its_database_never_leaves_the_run_running(slow_sync):
    server, cluster, run = slow_sync
    wait_until(lambda: funds_with_bars() >= 4, "two batches committed", process=cluster)

    assert terminate_other_backends() >= 1
    cut_at = timezone.now()

    def final():
        recover_stale_runs()
        return refreshed(run).is_final

    # A generous wait, not a bound on the machine's speed: the run ends after the cut, unfinished.
    wait_until(final, "the run ending", timeout=60)
    run = refreshed(run)
    assert run.status == SyncStatus.FAILED
    assert run.finished_at >= cut_at
    # Failed by the worker itself (if it could still record it) or by the heartbeat check;
    # today the worker's finish_run uses the cut connection too, so it is the heartbeat's.
    assert run.error_summary.startswith(HEARTBEAT_LOST) or "connection" in run.error_summary
    complete = assert_whole_funds(server)
    assert 4 <= len(complete) < FUNDS

    # The cluster outlived the cut: a re-run queued on it completes.
    assert cluster.poll() is None
    server.latency = 0
    server.requests.clear()
    rerun, created = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})
    assert created
    wait_until(lambda: refreshed(rerun).is_final, "the re-run finishing", process=cluster)

    assert rerun.status == SyncStatus.SUCCEEDED, rerun.error_summary
    served = served_bars(server)
    assert DailyBar.objects.count() == len(served)
    assert_no_duplicate_bars()
    assert_same_bars(stored_bars(), served)
    asked = kline_codes(server.requests)
    assert set(asked) == {fund.code for fund in server.funds.values()}
