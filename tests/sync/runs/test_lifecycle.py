"""The run lifecycle every sync kind shares: scope, heartbeat, forward-only ends, chunks."""

import datetime as dt
import threading
import time

import pytest
from django.utils import timezone

from etfs.models import SyncKind, SyncRun, SyncRunError, SyncStatus
from etfs.providers.base import RowProblem
from etfs.sync.runs import (
    Problem,
    RunRecorder,
    Severity,
    SyncAlreadyRunning,
    create_run,
    finish_parent_if_last,
    finish_run,
    recover_stale_runs,
    run_sync,
    scope_for,
    start_run,
)
from etfs.tasks import enqueue_sync, execute_run
from tests.factories import make_run
from tests.recovery import recovering_all_along

CODES = [f"{510000 + index:06d}" for index in range(40)]


@pytest.mark.django_db
class TestScope:
    def test_two_code_lists_sharing_their_first_codes_are_two_scopes(self):
        # 26 six-digit codes and their commas fill a 200-character string already.
        first = CODES[:30] + ["159001"]
        second = CODES[:30] + ["159002"]

        one, created_one = enqueue_sync(SyncKind.ETF_PRICES, "api", {"codes": first})
        two, created_two = enqueue_sync(SyncKind.ETF_PRICES, "api", {"codes": second})

        assert created_one and created_two
        assert one.pk != two.pk
        assert two.parameters["codes"] == second

    def test_the_same_parameters_in_another_spelling_are_one_scope(self):
        one, _ = create_run(SyncKind.ETF_PRICES, "api", {"codes": CODES, "full": True})
        again, created = create_run(
            SyncKind.ETF_PRICES, "api", {"full": True, "codes": CODES[::-1] + CODES[:3]}
        )

        assert not created and again.pk == one.pk

    def test_other_options_over_the_same_codes_are_another_scope(self):
        assert scope_for("etf_prices", {"codes": CODES}) != scope_for(
            "etf_prices", {"codes": CODES, "full": True}
        )

    def test_the_default_run_and_both_exchanges_spelled_out_are_one_scope(self):
        assert scope_for("etf_lists", {}) == "etf_lists"
        assert scope_for("etf_lists", {"exchanges": ["xshe", "XSHG"]}) == "etf_lists"
        assert scope_for("etf_lists", {"exchanges": ["XSHG"]}) != "etf_lists"


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_work_blocks_keeps_beating_and_is_never_taken_for_dead(settings):
    """The body makes no progress for longer than the stale limit (one hanging request);
    recovery, checking all along, must not fail it."""
    settings.ETFSYNC_STALE_RUN_SECONDS = 1
    with recovering_all_along() as recovered:
        run = run_sync(SyncKind.ETF_PRICES, lambda recorder: _blocked(3.0), {"codes": ["510300"]})

    assert run.status == SyncStatus.SUCCEEDED
    assert run.error_summary == "worked"
    assert len(recovered) >= 10 and not any(recovered)


def _blocked(seconds: float) -> tuple[str, str]:
    time.sleep(seconds)
    return SyncStatus.SUCCEEDED, "worked"


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_stops_with_the_run(settings):
    settings.ETFSYNC_HEARTBEAT_SECONDS = 0.1
    threads_before = threading.active_count()

    run = run_sync(SyncKind.ETF_LISTS, lambda recorder: _blocked(0.5))

    assert threading.active_count() == threads_before
    beat_at_finish = SyncRun.objects.get(pk=run.pk).heartbeat_at
    time.sleep(0.3)
    assert SyncRun.objects.get(pk=run.pk).heartbeat_at == beat_at_finish


@pytest.mark.django_db
class TestForwardOnly:
    def test_a_finished_run_is_never_rewritten(self):
        run = make_run(status="failed", error_summary="recovery: no heartbeat")

        finish_run(run, SyncStatus.PARTIAL, "1 of 6 ETF(s) failed")

        run.refresh_from_db()
        assert (run.status, run.error_summary) == ("failed", "recovery: no heartbeat")

    def test_a_run_failed_by_recovery_while_alive_stops_at_its_next_check(self):
        checks = []

        def body(recorder):
            checks.append(recorder.should_stop())
            # Recovery (another process) fails the run while this worker still works.
            SyncRun.objects.filter(pk=recorder.run.pk).update(
                status=SyncStatus.FAILED, error_summary="The worker stopped sending heartbeats"
            )
            checks.append(recorder.should_stop())
            return SyncStatus.SUCCEEDED, ""

        run = run_sync(SyncKind.ETF_LISTS, body)

        assert checks == [False, True]
        assert run.status == SyncStatus.FAILED
        assert run.error_summary == "The worker stopped sending heartbeats"
        warning = SyncRunError.objects.get(run=run)
        assert "marked failed while its worker was still working" in warning.message

    def test_a_scope_already_running_is_refused(self):
        make_run(SyncKind.ETF_LISTS, status="running", scope="etf_lists")
        with pytest.raises(SyncAlreadyRunning):
            run_sync(SyncKind.ETF_LISTS, lambda recorder: pytest.fail("must not run"))

    def test_a_body_that_raises_fails_the_run_and_the_error_goes_on(self):
        def body(recorder):
            raise RuntimeError("the disk is full")

        with pytest.raises(RuntimeError):
            run_sync(SyncKind.ETF_LISTS, body)

        run = SyncRun.objects.get()
        assert (run.status, run.error_summary) == ("failed", "RuntimeError: the disk is full")


@pytest.mark.django_db
class TestChunksAndParents:
    def test_a_chunk_whose_parent_has_ended_does_nothing_and_is_cancelled(self, provider_down):
        parent = make_run(SyncKind.ETF_PRICES, status="failed", items_done=40)
        chunk = make_run(
            SyncKind.ETF_PRICES,
            status="queued",
            parent=parent,
            scope="",
            parameters={"codes": ["510300"]},
        )

        execute_run(chunk.pk)
        chunk.refresh_from_db()

        parent.refresh_from_db()
        assert chunk.status == SyncStatus.CANCELLED
        assert chunk.error_summary == (
            f"Not run: its parent run #{parent.pk} had already ended (failed)."
        )
        assert chunk.started_at is None
        assert (parent.status, parent.items_done) == ("failed", 40)

    def test_a_stale_parent_with_working_chunks_is_left_to_them(self, settings):
        settings.ETFSYNC_STALE_RUN_SECONDS = 60
        old = timezone.now() - dt.timedelta(minutes=5)
        parent = make_run(SyncKind.ETF_PRICES, status="running", heartbeat_at=old)
        make_run(SyncKind.ETF_PRICES, status="succeeded", parent=parent, scope="")
        working = make_run(SyncKind.ETF_PRICES, status="running", parent=parent, scope="")

        assert recover_stale_runs() == 0
        parent.refresh_from_db()
        assert parent.status == SyncStatus.RUNNING

        finish_run(working, SyncStatus.PARTIAL, "1 of 3 ETF(s) failed, first: 510300: gone")
        finish_parent_if_last(working)
        parent.refresh_from_db()
        assert parent.status == SyncStatus.PARTIAL
        assert "1 of 3 ETF(s) failed" in parent.error_summary

    def test_a_stale_parent_whose_chunks_ended_takes_their_summary(self, settings):
        settings.ETFSYNC_STALE_RUN_SECONDS = 60
        old = timezone.now() - dt.timedelta(minutes=5)
        parent = make_run(SyncKind.ETF_PRICES, status="running", heartbeat_at=old)
        make_run(SyncKind.ETF_PRICES, status="succeeded", parent=parent, scope="")
        make_run(
            SyncKind.ETF_PRICES,
            status="partial",
            parent=parent,
            scope="",
            error_summary="2 of 50 ETF(s) failed",
        )

        recover_stale_runs()

        parent.refresh_from_db()
        assert parent.status == SyncStatus.PARTIAL
        assert "2 of 50 ETF(s) failed" in parent.error_summary
        assert "heartbeats" not in parent.error_summary


@pytest.mark.django_db
class TestStartingARun:
    """Found by mutation testing: each assertion here failed on a surviving mutant."""

    @pytest.mark.parametrize("status", ["running", "succeeded", "failed", "cancelled"])
    def test_only_a_queued_run_starts(self, status):
        run = make_run(status=status, scope="" if status == "running" else "etf_lists")
        before = SyncRun.objects.values().get(pk=run.pk)

        assert start_run(run) is False
        assert SyncRun.objects.values().get(pk=run.pk) == before

    def test_a_started_run_has_its_start_and_heartbeat(self):
        queued = make_run(status="queued")

        assert start_run(queued) is True
        assert queued.status == SyncStatus.RUNNING
        assert queued.started_at is not None and queued.heartbeat_at == queued.started_at

    def test_cancelling_a_chunk_of_an_ended_parent_leaves_other_queued_runs(self):
        parent = make_run(SyncKind.ETF_PRICES, status="failed")
        chunk = make_run(SyncKind.ETF_PRICES, status="queued", parent=parent, scope="")
        other = make_run(SyncKind.ETF_LISTS, status="queued")

        assert start_run(chunk) is False

        chunk.refresh_from_db()
        other.refresh_from_db()
        assert chunk.status == SyncStatus.CANCELLED and chunk.finished_at is not None
        assert other.status == SyncStatus.QUEUED

    def test_the_refusal_names_the_run_it_met(self):
        running = make_run(SyncKind.ETF_LISTS, status="running", scope="etf_lists")

        with pytest.raises(SyncAlreadyRunning) as refused:
            run_sync(SyncKind.ETF_LISTS, lambda recorder: pytest.fail("must not run"))

        assert refused.value.run == running
        assert str(refused.value) == f"run #{running.pk} of the same scope is already running"


@pytest.mark.django_db
class TestRecorder:
    def test_counters_add_up_on_the_run_its_parent_and_in_memory(self):
        old = timezone.now() - dt.timedelta(minutes=5)
        parent = make_run(SyncKind.ETF_PRICES, status="running", heartbeat_at=old)
        chunk = make_run(
            SyncKind.ETF_PRICES, status="running", parent=parent, scope="", heartbeat_at=old
        )
        recorder = RunRecorder(chunk)

        recorder.record(Problem("a negative price", Severity.REJECTED))
        recorder.count(items_done=2)
        recorder.flush()
        recorder.record(*[Problem("no volume", Severity.REJECTED)] * 2)
        recorder.set_total(7)

        assert recorder.totals["rows_rejected"] == 3 and recorder.totals["items_done"] == 2
        for run in (chunk, parent):
            run.refresh_from_db()
            assert (run.rows_rejected, run.items_done) == (3, 2)
            assert run.heartbeat_at > old
        assert chunk.items_total == recorder.run.items_total == 7

    def test_rejected_rows_and_warnings_are_told_apart_and_bytes_are_text(self):
        run = make_run(status="running", scope="")
        recorder = RunRecorder(run)

        recorder.record_rows(
            [
                RowProblem("a negative price", code="510300", row="2024-01-02,-1"),
                RowProblem("suspicious units", code="510300", fatal=False),
            ]
        )
        recorder.record(Problem("refused", detail="<html>访问受限</html>".encode()))
        recorder.record(Problem("no detail"))

        problems = list(SyncRunError.objects.filter(run=run).order_by("id"))
        assert [problem.severity for problem in problems] == [
            "rejected",
            "warning",
            "error",
            "error",
        ]
        assert problems[0].detail == "2024-01-02,-1"
        assert problems[2].detail == "<html>访问受限</html>"
        assert (problems[3].code, problems[3].detail) == ("", "")
