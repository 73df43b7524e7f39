"""A run as a person reads it: problems grouped by kind, chunk outcomes grouped, progress."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from etfs.models import SyncRunError
from etfs.sync.report import chunk_summary, grouped_problems, problem_kind, run_progress
from etfs.sync.runs import RunRecorder
from tests.factories import make_run, make_run_error


def test_messages_that_differ_only_in_codes_dates_and_counts_are_one_kind():
    kinds = {
        problem_kind("511010: cannot reach push2his.eastmoney.com: timed out after 20 s"),
        problem_kind("159915: cannot reach push2his.eastmoney.com: timed out after 5 s"),
    }
    other = problem_kind("push2his.eastmoney.com answered HTTP 503 after retries")

    assert kinds == {"<n>: cannot reach push2his.eastmoney.com: timed out after <n> s"}
    assert "HTTP 503" in other  # a status code is the kind of problem, not a varying count
    assert problem_kind("bar of 2024-03-01 rejected") == "bar of <date> rejected"


def test_twenty_five_cancelled_chunks_make_one_line():
    chunks = [(pk, "cancelled", "cancelled on request") for pk in range(11, 36)]
    chunks += [
        (40, "partial", "3 of 50 ETF(s) failed, first: 510300: HTTP 503"),
        (41, "succeeded", ""),
    ]

    summary = chunk_summary(chunks)

    assert summary == (
        "25 chunks #11, #12, #13, …, #35 cancelled: cancelled on request; "
        "chunk #40 partial: 3 of 50 ETF(s) failed, first: 510300: HTTP 503"
    )


@pytest.mark.django_db
def test_problems_are_grouped_by_severity_and_kind_most_frequent_first():
    run = make_run(status="partial")
    for code in ("510300", "510500", "159915"):
        make_run_error(run, f"{code}: cannot reach push2his.eastmoney.com: timed out", code=code)
    make_run_error(run, "bar of 2024-01-02: high below close", code="510300", severity="rejected")
    make_run_error(run, "bar of 2024-01-03: high below close", code="510300", severity="rejected")
    make_run_error(
        run, "daily list pass failed, using k-lines", severity=SyncRunError.Severity.WARNING
    )

    groups = [(g.severity, g.kind, g.count, g.codes) for g in grouped_problems(run, examples=2)]

    assert groups == [
        ("error", "<n>: cannot reach push2his.eastmoney.com: timed out", 3, ["159915", "510300"]),
        ("rejected", "bar of <date>: high below close", 2, ["510300"]),
        ("warning", "daily list pass failed, using k-lines", 1, []),
    ]


@pytest.mark.django_db
def test_progress_rate_and_time_left_follow_the_clock():
    with time_machine.travel(dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC), tick=False):
        run = make_run(status="running", items_total=1000, scope="prices")
        run.started_at = timezone.now()
    with time_machine.travel(dt.datetime(2024, 3, 1, 8, 10, tzinfo=dt.UTC), tick=False):
        run.items_done, run.rows_created, run.rows_unchanged = 250, 48_000, 12_000
        ten_minutes_in = run_progress(run)
    run.status, run.finished_at = "succeeded", dt.datetime(2024, 3, 1, 8, 40, tzinfo=dt.UTC)
    run.items_done = 1000
    finished = run_progress(run)

    assert ten_minutes_in.percent == 25
    assert ten_minutes_in.items_per_minute == 25.0
    assert ten_minutes_in.rows_per_second == 100.0
    assert ten_minutes_in.time_left == dt.timedelta(minutes=30)
    assert finished.elapsed == dt.timedelta(minutes=40)
    assert finished.time_left is None


def test_notes_that_count_a_chunks_etfs_add_up_for_the_whole_run():
    """Two chunks short of the day's bar: the parent says 61, not one chunk's 50."""
    no_bar = "ETF(s) have no bar for 2026-11-20: suspended, or missing at the source"
    chunks = [
        (11, "succeeded", f"50 {no_bar}"),
        (12, "succeeded", f"11 {no_bar}; 2 bar(s) rejected by sanity checks"),
        (13, "partial", f"3 of 50 ETF(s) failed, first: 510300: HTTP 503; 4 {no_bar}"),
        (14, "succeeded", ""),
    ]

    summary = chunk_summary(chunks)

    assert summary == (
        f"65 {no_bar}; 2 bar(s) rejected by sanity checks; "
        "chunk #13 partial: 3 of 50 ETF(s) failed, first: 510300: HTTP 503"
    )


@pytest.mark.django_db
def test_a_kind_lists_its_codes_and_counts_only_codes_it_does_not_show():
    run = make_run(status="partial")
    for code in ("510300", "510500", "159915", "512880"):
        make_run_error(run, "cannot reach push2his.eastmoney.com: timed out", code=code)
    make_run_error(run, "the list pass stopped: HTTP 503")
    make_run_error(run, "the list pass stopped: HTTP 503")

    groups = {g.kind: (g.count, g.codes, g.more_codes) for g in grouped_problems(run, examples=2)}

    assert groups == {
        "cannot reach push2his.eastmoney.com: timed out": (4, ["159915", "510300"], 2),
        "the list pass stopped: HTTP 503": (2, [], 0),  # no "and 1 more" beside no codes
    }


@pytest.mark.django_db
def test_time_left_is_measured_from_the_first_item_not_from_the_start():
    """Issue 24 item 6: eight minutes of planning before the first item made the estimate
    five times too long (30 min at the start's average rate, 6 min at the measured one)."""
    with time_machine.travel(dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC), tick=False):
        run = make_run(status="running", items_total=1000, scope="prices")
        run.started_at = timezone.now()
    run.first_item_at = dt.datetime(2024, 3, 1, 8, 8, tzinfo=dt.UTC)
    with time_machine.travel(dt.datetime(2024, 3, 1, 8, 10, tzinfo=dt.UTC), tick=False):
        run.items_done = 250
        progress = run_progress(run)

    assert progress.time_left == dt.timedelta(minutes=6)


@pytest.mark.django_db
def test_the_first_items_written_mark_when_the_rate_is_measured_from():
    parent = make_run(status="running", items_total=20, scope="prices")
    chunk = make_run(status="running", items_total=10, scope="prices", parent=parent)
    recorder = RunRecorder(chunk)
    with time_machine.travel(dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC), tick=False):
        recorder.count(rows_fetched=5)  # rows before any item done: not an item
        recorder.flush()
    with time_machine.travel(dt.datetime(2024, 3, 1, 8, 3, tzinfo=dt.UTC), tick=False):
        recorder.count(items_done=2)
        recorder.flush()
    with time_machine.travel(dt.datetime(2024, 3, 1, 8, 5, tzinfo=dt.UTC), tick=False):
        recorder.count(items_done=1)
        recorder.flush()

    first = dt.datetime(2024, 3, 1, 8, 3, tzinfo=dt.UTC)
    for run in (chunk, parent):
        run.refresh_from_db()
        assert (run.first_item_at, run.items_done) == (first, 3)


def at(minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, 1, 8, minute, second, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_the_rate_shown_is_measured_from_the_first_item_not_from_the_start():
    """Eight minutes of planning, then 250 funds in two: 125 a minute, not the start's 25."""
    with time_machine.travel(at(0), tick=False):
        run = make_run(status="running", items_total=1000, scope="prices")
        run.started_at = timezone.now()
    run.first_item_at = at(8)
    run.items_done, run.rows_created = 250, 60_000
    with time_machine.travel(at(10), tick=False):
        running = run_progress(run)
    run.status, run.finished_at, run.items_done = "succeeded", at(14), 1000
    finished = run_progress(run)

    assert (running.items_per_minute, running.rows_per_second) == (125.0, 500.0)
    assert running.measured_since == at(8)
    assert running.time_left == dt.timedelta(minutes=6)
    assert running.elapsed == dt.timedelta(minutes=10)
    assert finished.items_per_minute == 1000 / 6  # the whole run's, since its first item
    assert finished.time_left is None


@pytest.mark.django_db
def test_items_done_at_once_before_the_first_are_left_out_of_the_rate():
    """600 funds up to date counted at once, then 250 fetched in two minutes: 150 are left at
    125 a minute (72 s), not at the 425 a minute the whole count would make (21 s)."""
    with time_machine.travel(at(0), tick=False):
        run = make_run(status="running", items_total=1000, scope="prices")
        run.started_at = timezone.now()
    run.first_item_at, run.items_before_first_item, run.items_done = at(8), 600, 850
    with time_machine.travel(at(10), tick=False):
        progress = run_progress(run)

    assert progress.items_per_minute == 125.0
    assert progress.time_left == dt.timedelta(seconds=72)


@pytest.mark.django_db
def test_a_run_without_a_first_item_is_measured_from_its_start():
    """Runs from before first_item_at was kept, or whose items were all done at once."""
    with time_machine.travel(at(0), tick=False):
        run = make_run(status="running", items_total=1000, scope="prices")
        run.started_at = timezone.now()
    run.items_done = 250
    with time_machine.travel(at(10), tick=False):
        progress = run_progress(run)

    assert (progress.items_per_minute, progress.measured_since) == (25.0, at(0))
    assert progress.time_left == dt.timedelta(minutes=30)


@pytest.mark.django_db
def test_the_recorder_marks_the_first_item_when_it_was_done_and_what_came_before_it():
    """Items done at once are written at once and do not start the rate; the first item done
    one by one does, at the time it was counted (its write comes up to a second later)."""
    parent = make_run(status="running", items_total=1000, scope="prices")
    chunk = make_run(status="running", items_total=1000, scope="prices", parent=parent)
    recorder = RunRecorder(chunk)
    with time_machine.travel(at(1), tick=False):
        recorder.items_done_at_once(600)
    chunk.refresh_from_db()
    assert (chunk.items_done, chunk.first_item_at) == (600, None)
    with time_machine.travel(at(3), tick=False):
        recorder.count(items_done=1)
    with time_machine.travel(at(3, 1), tick=False):
        recorder.count(items_done=2)
        recorder.flush()

    for run in (chunk, parent):
        run.refresh_from_db()
        assert (run.first_item_at, run.items_before_first_item, run.items_done) == (
            at(3),
            600,
            603,
        )
