"""Cancel a running sync from the admin; retry, from the admin, only the ETFs that failed."""

import time

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from etfs.models import DailyBar, SyncKind, SyncRun, SyncStatus, SyncTrigger
from etfs.sync.lists import sync_etf_lists
from etfs.tasks import enqueue_sync, execute_run
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
from tests.threads import InThread

pytestmark = pytest.mark.django_db(transaction=True)

RUNS = reverse("admin:etfs_syncrun_changelist")


def admin_action(client, action: str, *runs: SyncRun) -> list[str]:
    """POST an action of the SyncRun change list; return the messages it left."""
    response = client.post(
        RUNS, {"action": action, "_selected_action": [run.pk for run in runs]}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def slow_twelve(start_fake_eastmoney, settings):
    """12 listed funds, one at a time at 0.2 s a request, committed two by two."""
    settings.ETFSYNC_CONCURRENCY = 1
    settings.ETFSYNC_PRICE_BATCH_ETFS = 2
    server = start_fake_eastmoney(12)
    sync_etf_lists()
    server.requests.clear()
    server.latency = 0.2
    return server


def test_cancel_from_the_admin_stops_a_running_price_sync_and_keeps_what_was_done(
    admin_client, slow_twelve
):
    server = slow_twelve
    worker = InThread(sync_prices)
    run = wait_until(
        lambda: SyncRun.objects.filter(kind=SyncKind.ETF_PRICES, status="running").first(),
        "the run starting",
    )
    wait_until(DailyBar.objects.exists, "a first batch committed")

    cancelled_at = time.time()
    messages = admin_action(admin_client, "request_cancel", run)

    assert messages == ["Asked 1 run(s) to stop; 0 queued run(s) cancelled at once."]
    run = worker.join(timeout=10)
    assert run.status == SyncStatus.CANCELLED
    assert run.error_summary == "cancelled on request"
    assert 2 <= run.items_done < 12
    done = assert_whole_funds(server)  # stopped between funds: every fund whole or absent
    assert run.rows_created == DailyBar.objects.count()
    assert len(done) == run.items_done
    # It stopped at the next check (once a second): a few more requests at most.
    assert len(server.requests_since(cancelled_at)) <= 8

    server.latency = 0
    rest = sync_prices()
    assert rest.status == SyncStatus.SUCCEEDED
    assert_no_duplicate_bars()
    assert_same_bars(stored_bars(), served_bars(server))


@pytest.mark.qcluster
def test_cancel_reaches_every_worker_of_a_fanned_out_run(
    admin_client, start_fake_eastmoney, start_qcluster
):
    """Two worker processes sync a chunk each; cancelling the parent stops both."""
    server = start_fake_eastmoney(16)
    sync_etf_lists()
    server.latency = 0.2
    cluster = start_qcluster(
        server,
        Q_WORKERS="2",
        ETFSYNC_PRICE_CHUNK_ETFS="8",
        ETFSYNC_PRICE_BATCH_ETFS="2",
        ETFSYNC_CONCURRENCY="1",
    )
    parent, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})
    wait_until(
        lambda: parent.chunks.filter(status="running").count() == 2,
        "both chunks running",
        process=cluster,
    )
    wait_until(DailyBar.objects.exists, "a first batch committed", process=cluster)

    messages = admin_action(admin_client, "request_cancel", parent)

    assert messages == ["Asked 1 run(s) to stop; 0 queued run(s) cancelled at once."]
    wait_until(lambda: refreshed(parent).is_final, "the run stopping", timeout=10, process=cluster)
    assert parent.status == SyncStatus.CANCELLED
    assert {chunk.status for chunk in parent.chunks.all()} == {SyncStatus.CANCELLED}
    assert parent.items_done < 16
    done = assert_whole_funds(server)
    assert len(done) == parent.items_done
    assert parent.rows_created == DailyBar.objects.count()


def test_cancelling_a_queued_run_ends_it_at_once_and_its_task_does_nothing(
    admin_client, fake_eastmoney
):
    sync_etf_lists()
    fake_eastmoney.requests.clear()
    run, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {})

    messages = admin_action(admin_client, "request_cancel", run)
    execute_run(run.pk)  # the task a worker would still pick up

    assert messages == ["Asked 1 run(s) to stop; 1 queued run(s) cancelled at once."]
    run = refreshed(run)
    assert run.status == SyncStatus.CANCELLED
    assert run.error_summary == "Cancelled before it started."
    assert fake_eastmoney.requests == []


@pytest.fixture
def two_failed(fake_eastmoney, settings):
    """A finished price run in which two of the six funds failed (HTTP 500 past the retries)."""
    sync_etf_lists()
    failing = ["159001", "510002"]
    for code in failing:
        fake_eastmoney.fail("500", times=settings.ETFSYNC_HTTP_RETRIES + 1, code=code)
    run = sync_prices()
    assert run.status == SyncStatus.PARTIAL
    assert run.items_failed == 2
    fake_eastmoney.requests.clear()
    return run, failing


def test_retry_failed_starts_a_linked_run_of_only_the_failed_etfs(
    admin_client, fake_eastmoney, two_failed
):
    failed_run, failing = two_failed

    messages = admin_action(admin_client, "retry_failed", failed_run)

    retry = SyncRun.objects.get(retry_of=failed_run)
    assert messages == [f"Started retry run(s): #{retry.pk} (for #{failed_run.pk})"]
    assert (retry.status, retry.trigger, retry.kind) == (
        SyncStatus.QUEUED,
        SyncTrigger.ADMIN,
        SyncKind.ETF_PRICES,
    )
    assert retry.parameters == {"start_year": 2024, "codes": failing}
    assert retry.task_id

    execute_run(retry.pk)  # what the worker does with the task

    retry = refreshed(retry)
    assert retry.status == SyncStatus.SUCCEEDED, retry.error_summary
    assert (retry.items_total, retry.items_failed) == (2, 0)
    assert sorted(kline_codes(fake_eastmoney.paths(KLINE))) == failing
    assert_same_bars(stored_bars(), served_bars(fake_eastmoney))


def test_retry_failed_on_a_run_without_failures_starts_nothing(admin_client, fake_eastmoney):
    sync_etf_lists()
    clean = sync_prices()
    assert clean.status == SyncStatus.SUCCEEDED

    messages = admin_action(admin_client, "retry_failed", clean)

    assert messages == ["No failed ETFs to retry in the selection."]
    assert not SyncRun.objects.filter(retry_of=clean).exists()


def test_retry_failed_ignores_a_run_still_going(admin_client, two_failed):
    failed_run, _ = two_failed
    SyncRun.objects.filter(pk=failed_run.pk).update(status=SyncStatus.RUNNING)

    messages = admin_action(admin_client, "retry_failed", failed_run)

    assert messages == ["No failed ETFs to retry in the selection."]
    assert not SyncRun.objects.filter(retry_of=failed_run).exists()
