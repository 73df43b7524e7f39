"""How a price run spends its database round trips: counters with each batch, progress as
funds are done, fetching while a batch is written. The fake's six funds; each test gives
``now`` (market.py)."""

import datetime as dt
import re
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from django.db import OperationalError, connection, transaction

from etfs.models import DailyBar, SyncRun, SyncStatus
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices, writing
from etfs.sync.upsert import upsert_fund_bars
from tests.conftest import HISTORY_END
from tests.database import queries_on_every_connection
from tests.qcluster import wait_until
from tests.sync.prices.market import bars_held
from tests.threads import InThread

pytestmark = pytest.mark.django_db(transaction=True)

AFTER_CLOSE = dt.datetime.combine(HISTORY_END, dt.time(16), tzinfo=ZoneInfo("Asia/Shanghai"))
FUNDS = 6


def sync() -> SyncRun:
    return sync_etf_prices(PriceOptions(start_year=2024), now=AFTER_CLOSE)


def test_the_counters_are_written_once_per_batch_not_once_per_fund(start_fake_eastmoney, settings):
    start_fake_eastmoney(40)
    sync_etf_lists()
    settings.ETFSYNC_PRICE_BATCH_ETFS = 20

    began = time.monotonic()
    with queries_on_every_connection() as queries:
        run = sync()
    seconds = time.monotonic() - began

    counter_writes = [
        sql
        for sql in queries
        if sql.startswith('UPDATE "etfs_syncrun"') and '"rows_fetched"' in sql
    ]
    assert (run.status, run.items_done, run.rows_fetched) == (
        SyncStatus.SUCCEEDED,
        40,
        DailyBar.objects.count(),
    )
    # One with each of the two batches, and at most one a second in between (what was counted
    # since the last batch), not one per fund.
    assert 2 <= len(counter_writes) <= 2 + int(seconds) + 1 < 40


def test_progress_moves_from_the_first_fund_before_any_batch_is_written(
    start_fake_eastmoney, settings, admin_client
):
    """Issue 24 item 6: a run showed 0 % until its first batch was written. Its funds are
    counted done as they are fetched (written at most once a second), and its rows only with
    the batch that stores them, so nothing is claimed written that is not."""
    server = start_fake_eastmoney(12)
    sync_etf_lists()
    settings.ETFSYNC_PRICE_BATCH_ETFS = 100  # one batch for the twelve, at the end
    settings.ETFSYNC_CONCURRENCY = 1
    server.latency = 0.2

    with bars_held():
        worker = InThread(sync)
        run = wait_until(
            lambda: SyncRun.objects.filter(kind="etf_prices", items_done__gt=0).first(),
            "the first funds counted done",
        )
        page = admin_client.get(f"/admin/etfs/syncrun/{run.pk}/change/").content.decode()
        stored_meanwhile = DailyBar.objects.count()

    assert stored_meanwhile == 0
    assert 0 < run.items_done < 12 and run.rows_fetched > 0
    assert (run.rows_created, run.rows_updated, run.rows_unchanged) == (0, 0, 0)
    assert run.first_item_at is not None and run.items_before_first_item == 0
    done = int(re.search(r"<dt>Done</dt><dd>(\d+) of 12 \(", page)[1])
    assert done > 0
    assert re.search(r'<dd id="time-left">about \d+', page)
    assert "since the first item" in page
    finished = worker.join()
    assert (finished.status, finished.items_done) == (SyncStatus.SUCCEEDED, 12)
    assert finished.rows_created == DailyBar.objects.count() > 0


def test_the_next_funds_are_fetched_while_a_batch_waits_for_the_database(server, settings):
    """The first batch's write waits on a lock; every fund is asked for meanwhile."""
    settings.ETFSYNC_PRICE_BATCH_ETFS = 3
    settings.ETFSYNC_CONCURRENCY = 1
    runs = []

    def sync_in_background():
        try:
            runs.append(sync())
        finally:
            connection.close()

    with transaction.atomic(), connection.cursor() as cursor:
        # Reads go on (the plan), writes of bars wait until this transaction ends.
        cursor.execute(f"LOCK TABLE {DailyBar._meta.db_table} IN SHARE MODE")
        worker = threading.Thread(target=sync_in_background)
        worker.start()
        asked = _wait_for_requests(server, "kline", FUNDS)
        stored_meanwhile = DailyBar.objects.count()
    worker.join()

    assert (asked, stored_meanwhile) == (FUNDS, 0)
    assert runs[0].status == SyncStatus.SUCCEEDED
    assert runs[0].rows_created == DailyBar.objects.count() > 0


def _wait_for_requests(server, fragment: str, count: int, patience: float = 60) -> int:
    """How many requests reached the server, waiting until ``count`` did (or patience ran
    out: then the assertion that follows says how many)."""
    waited = 0.0
    while len(server.paths(fragment)) < count and waited < patience:
        time.sleep(0.05)
        waited += 0.05
    return len(server.paths(fragment))


def test_two_batches_are_written_at_once_on_postgresql(start_fake_eastmoney, settings, monkeypatch):
    """Each batch in its own transaction on its own connection: while one commits, the next is
    written (the server's work on one connection bounds a full history)."""
    start_fake_eastmoney(FUNDS)
    sync_etf_lists()
    settings.ETFSYNC_PRICE_BATCH_ETFS = 1
    settings.ETFSYNC_CONCURRENCY = 4
    # Every batch waits, inside its transaction, until another one is being written too: one
    # writer at a time would wait out the barrier's timeout and fail the run.
    together = threading.Barrier(2, timeout=20)

    def meeting_another_batch(*args, **kwargs):
        result = upsert_fund_bars(*args, **kwargs)
        together.wait()
        return result

    monkeypatch.setattr(writing, "upsert_fund_bars", meeting_another_batch)

    run = sync()

    assert (run.status, run.items_done) == (SyncStatus.SUCCEEDED, FUNDS)
    assert run.rows_created == DailyBar.objects.count() > 0
    assert DailyBar.objects.values("security").distinct().count() == FUNDS


def test_the_last_batch_is_written_by_both_writers_a_part_each(
    start_fake_eastmoney, settings, monkeypatch
):
    """Once nothing is fetched any more the run waits only for its last batch: both writers
    take a part of it, at once."""
    start_fake_eastmoney(FUNDS)
    sync_etf_lists()
    settings.ETFSYNC_PRICE_BATCH_ETFS = 50  # the six funds are one last batch
    settings.ETFSYNC_CONCURRENCY = 4
    monkeypatch.setattr(writing, "SPLIT_ROWS", 100)  # of some 360 bars
    together = threading.Barrier(2, timeout=20)
    parts = []

    def meeting_the_other_part(funds, **kwargs):
        result = upsert_fund_bars(funds, **kwargs)
        parts.append(len(funds))
        together.wait()
        return result

    monkeypatch.setattr(writing, "upsert_fund_bars", meeting_the_other_part)

    run = sync()

    assert (run.status, run.items_done) == (SyncStatus.SUCCEEDED, FUNDS)
    assert sorted(parts) == [3, 3]
    assert DailyBar.objects.values("security").distinct().count() == FUNDS


def test_a_sync_inside_a_callers_transaction_writes_its_batches_in_it(
    start_fake_eastmoney, settings
):
    start_fake_eastmoney(FUNDS)
    sync_etf_lists()
    settings.ETFSYNC_PRICE_BATCH_ETFS = 1
    settings.ETFSYNC_CONCURRENCY = 4

    with pytest.raises(RuntimeError, match="undo"), transaction.atomic():
        run = sync()
        assert run.rows_created > 0
        raise RuntimeError("undo the caller's transaction")

    assert not DailyBar.objects.exists()


def test_a_writers_lost_database_ends_the_run_failed(start_fake_eastmoney, settings, monkeypatch):
    start_fake_eastmoney(FUNDS)
    sync_etf_lists()
    settings.ETFSYNC_PRICE_BATCH_ETFS = 1
    settings.ETFSYNC_CONCURRENCY = 4
    writes = []

    def losing_the_database(*args, **kwargs):
        writes.append(threading.current_thread().name)
        if len(writes) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return upsert_fund_bars(*args, **kwargs)

    monkeypatch.setattr(writing, "upsert_fund_bars", losing_the_database)

    with pytest.raises(OperationalError, match="closed the connection"):
        sync()

    run = SyncRun.objects.get(kind="etf_prices")
    assert run.status == SyncStatus.FAILED
    assert "OperationalError: server closed the connection unexpectedly" in run.error_summary
    assert any(name.startswith("bar-writer") for name in writes)
