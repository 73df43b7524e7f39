"""Who writes a run's counters, and when: a batch writer its rows' counts, in the transaction
that writes the rows; the job's thread its progress, without waiting for a batch's commit."""

import threading

import pytest
from django.db import transaction
from django.db.models import F

from etfs.models import SyncKind, SyncRun
from etfs.sync.runs import RunRecorder
from tests.factories import make_run
from tests.threads import InThread

pytestmark = pytest.mark.django_db(transaction=True)


class Holder:
    """Another transaction holding the rows of these runs, as a batch writer does from its
    counters' UPDATE to its commit."""

    def __init__(self, *runs: SyncRun):
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = InThread(self._hold, [run.pk for run in runs])
        assert self.held.wait(30)

    def _hold(self, ids):
        with transaction.atomic():
            SyncRun.objects.filter(pk__in=ids).update(rows_created=F("rows_created") + 5)
            self.held.set()
            self.release.wait(60)

    def end(self):
        self.release.set()
        self.thread.join()


def test_progress_does_not_wait_for_a_batch_that_holds_the_run_and_is_written_after_it():
    run = make_run(SyncKind.ETF_PRICES, status="running")
    recorder = RunRecorder(run)
    holder = Holder(run)
    try:
        recorder.count(items_done=3)
        # Returns while the run's row is held (the holder waits for 60 s otherwise).
        assert InThread(recorder.should_stop, now=True).join(timeout=20) is False
        run.refresh_from_db()
        assert run.items_done == 0  # kept for the next flush
    finally:
        holder.end()

    assert recorder.should_stop(now=True) is False
    run.refresh_from_db()
    assert (run.items_done, run.rows_created) == (3, 5)


def test_a_chunk_whose_parent_is_held_keeps_its_progress_for_the_next_flush():
    parent = make_run(SyncKind.ETF_PRICES, status="running")
    chunk = make_run(SyncKind.ETF_PRICES, status="running", parent=parent, scope="")
    recorder = RunRecorder(chunk)
    holder = Holder(parent)  # another chunk of the same parent, committing
    try:
        recorder.count(items_done=2)
        InThread(recorder.should_stop, now=True).join(timeout=20)
        chunk.refresh_from_db()
        assert chunk.items_done == 0  # neither row written: the two stay in step
    finally:
        holder.end()

    recorder.should_stop(now=True)
    chunk.refresh_from_db()
    parent.refresh_from_db()
    assert (chunk.items_done, parent.items_done) == (2, 2)


def test_a_batch_s_row_counts_go_with_its_transaction_and_never_with_the_progress():
    run = make_run(SyncKind.ETF_PRICES, status="running")
    recorder = RunRecorder(run)
    recorder.count(items_done=1)

    with pytest.raises(RuntimeError), transaction.atomic():
        recorder.write_counts(rows_created=7)
        raise RuntimeError("the batch's commit failed")
    recorder.flush()  # the job's thread: its progress only

    run.refresh_from_db()
    assert (run.items_done, run.rows_created) == (1, 0)

    with transaction.atomic():
        recorder.write_counts(rows_created=4, rows_updated=0)
    run.refresh_from_db()
    assert (run.items_done, run.rows_created) == (1, 4)
