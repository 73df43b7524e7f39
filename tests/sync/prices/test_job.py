"""The price job's split: a queued run fanned out into chunk runs, in-process."""

import pytest
from django.db import DatabaseError, connection

from etfs.models import (
    DailyBar,
    StockInfo,
    SyncKind,
    SyncRun,
    SyncStatus,
    SyncTrigger,
)
from etfs.sync.lists import sync_etf_lists
from etfs.tasks import enqueue_sync, execute_run
from tests.bars import served_bars
from tests.database import terminate_backend
from tests.factories import make_run, make_run_error, make_staff_user
from tests.qcluster import wait_until
from tests.sync.prices.market import bars_held, sync
from tests.threads import InThread

pytestmark = pytest.mark.django_db(transaction=True)


# --- fan-out of a queued run, in-process ---------------------------------------------------------


class TestFanOut:
    """execute_run, as a qcluster worker calls it, here one task after the other."""

    @pytest.fixture
    def eight_funds(self, start_fake_eastmoney, settings):
        settings.ETFSYNC_PRICE_CHUNK_ETFS = 3
        server = start_fake_eastmoney(8)
        sync_etf_lists()
        return server

    def test_a_run_of_exactly_one_chunk_runs_itself(self, eight_funds):
        codes = sorted(fund.code for fund in eight_funds.funds.values())[:3]
        run, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"codes": codes})

        execute_run(run.pk)

        run.refresh_from_db()
        assert not run.chunks.exists()
        assert (run.status, run.items_done) == (SyncStatus.SUCCEEDED, 3)

    def test_chunks_act_for_whoever_asked_for_the_run(self, eight_funds):
        operator = make_staff_user("operator")
        parent, _ = enqueue_sync(
            SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024}, user=operator
        )

        execute_run(parent.pk)

        chunks = list(parent.chunks.all())
        assert len(chunks) == 3
        assert {(chunk.kind, chunk.trigger, chunk.requested_by) for chunk in chunks} == {
            (SyncKind.ETF_PRICES, SyncTrigger.ADMIN, operator)
        }

    def test_the_last_chunk_finishes_the_parent_with_the_totals(self, eight_funds):
        parent, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})

        execute_run(parent.pk)
        chunks = list(parent.chunks.order_by("id"))
        assert [len(chunk.parameters["codes"]) for chunk in chunks] == [3, 3, 2]
        for chunk in chunks:
            execute_run(chunk.pk)

        parent.refresh_from_db()
        chunks = list(parent.chunks.order_by("id"))
        assert parent.status == SyncStatus.SUCCEEDED, parent.error_summary
        assert {chunk.status for chunk in chunks} == {SyncStatus.SUCCEEDED}
        assert (parent.items_total, parent.items_done) == (8, 8)
        assert parent.rows_created == sum(chunk.rows_created for chunk in chunks)
        assert parent.rows_created == DailyBar.objects.count() == len(served_bars(eight_funds))

    def test_a_chunks_progress_moves_its_parent_before_any_batch_is_written(
        self, eight_funds, settings
    ):
        settings.ETFSYNC_PRICE_BATCH_ETFS = 100  # each chunk writes one batch, at its end
        settings.ETFSYNC_CONCURRENCY = 1
        eight_funds.latency = 0.5
        parent, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})
        execute_run(parent.pk)
        first, *others = parent.chunks.order_by("id")

        with bars_held():
            worker = InThread(execute_run, first.pk)
            wait_until(
                lambda: SyncRun.objects.filter(pk=parent.pk, items_done__gt=0).exists(),
                "the parent counting the chunk's first funds",
            )
            parent.refresh_from_db()
            first.refresh_from_db()
            stored_meanwhile = DailyBar.objects.count()

        assert stored_meanwhile == 0 and parent.rows_created == 0
        assert 0 < parent.items_done == first.items_done
        assert parent.first_item_at == first.first_item_at is not None
        worker.join()
        for chunk in others:
            execute_run(chunk.pk)
        parent.refresh_from_db()
        assert (parent.status, parent.items_total, parent.items_done) == ("succeeded", 8, 8)

    def test_funds_that_failed_last_time_go_into_the_last_chunk(self, eight_funds):
        codes = sorted(fund.code for fund in eight_funds.funds.values())
        before = make_run("etf_prices", status="partial", scope="old")
        for code in codes[:2]:
            security = StockInfo.objects.get(code=code)
            make_run_error(before, "timeout", code=code, security=security)
        parent, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})

        execute_run(parent.pk)

        chunks = [chunk.parameters["codes"] for chunk in parent.chunks.order_by("id")]
        assert chunks == [codes[2:5], codes[5:8], codes[:2]]

    def test_a_chunk_that_raises_still_finishes_the_parent(self, eight_funds):
        """The database ends the last chunk's connection while it fetches: the chunk raises
        (it is marked failed over a new connection) and still finishes the parent."""
        parent, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})
        execute_run(parent.pk)
        *first, last = list(parent.chunks.order_by("id"))
        for chunk in first:
            execute_run(chunk.pk)
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        ended = []

        def end_the_connection_once(request):
            if not ended:
                ended.append(request)
                terminate_backend(pid)

        eight_funds.on_request = end_the_connection_once

        with pytest.raises(DatabaseError):
            execute_run(last.pk)

        assert ended
        last.refresh_from_db()
        parent.refresh_from_db()
        assert last.status == SyncStatus.FAILED
        assert parent.status == SyncStatus.PARTIAL
        assert f"chunk #{last.pk} failed: " in parent.error_summary


@pytest.mark.django_db
def test_without_listed_etfs_the_run_says_to_sync_the_lists_first(server):
    StockInfo.objects.all().delete()

    run = sync()

    assert run.status == SyncStatus.SUCCEEDED
    assert run.error_summary == "no listed ETFs to sync yet: run the ETF list sync first"
    assert server.paths("kline") == []
