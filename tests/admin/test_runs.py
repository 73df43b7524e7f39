"""The run list and a run's page: top-level runs first, progress, no Delete while active."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Task

from etfs.models import SyncKind, SyncRun
from tests.factories import make_run, make_run_error

pytestmark = pytest.mark.django_db

LIST = "admin:etfs_syncrun_changelist"


@pytest.fixture
def fanned_out():
    parent = make_run(kind="etf_prices", status="running", scope="etf_prices", items_total=100)
    chunks = [
        make_run(kind="etf_prices", status="running", parent=parent, scope="", items_total=50)
        for _ in range(2)
    ]
    return parent, chunks


def listed_ids(response) -> set[int]:
    assert response.status_code == 200
    return {run.pk for run in response.context["cl"].result_list}


def test_the_list_shows_top_level_runs_unless_asked_for_chunks(client, superuser, fanned_out):
    parent, chunks = fanned_out
    other = make_run(rows_fetched=1_234_567)

    default = client.get(reverse(LIST))
    only_chunks = client.get(reverse(LIST), {"level": "chunks"})
    everything = client.get(reverse(LIST), {"level": "all"})

    assert listed_ids(default) == {parent.pk, other.pk}
    assert listed_ids(only_chunks) == {chunk.pk for chunk in chunks}
    assert listed_ids(everything) == {parent.pk, other.pk, *(chunk.pk for chunk in chunks)}
    page = default.content.decode()
    assert "1,234,567" in page
    assert '<progress value="0" max="100"' in page  # the running parent
    assert "Command" in page  # who or what started it


def test_an_active_run_offers_no_delete_and_a_bulk_delete_keeps_it(client, superuser, fanned_out):
    parent, _ = fanned_out
    finished = make_run()

    active_page = client.get(reverse("admin:etfs_syncrun_change", args=[parent.pk])).content
    finished_page = client.get(reverse("admin:etfs_syncrun_change", args=[finished.pk])).content
    direct = client.post(reverse("admin:etfs_syncrun_delete", args=[parent.pk]), {"post": "yes"})
    bulk = {"action": "delete_selected", "post": "yes"}
    refused = client.post(reverse(LIST), {**bulk, "_selected_action": [parent.pk, finished.pk]})
    client.post(reverse(LIST), {**bulk, "_selected_action": [finished.pk]})

    assert b"deletelink" not in active_page
    assert b"deletelink" in finished_page
    assert direct.status_code == 403
    assert refused.status_code == 403
    assert SyncRun.objects.filter(pk=parent.pk).exists()
    assert not SyncRun.objects.filter(pk=finished.pk).exists()


def test_the_run_page_shows_chunks_problem_kinds_and_a_page_of_problems(
    client, superuser, fanned_out
):
    parent, chunks = fanned_out
    for index in range(60):
        make_run_error(parent, f"{510000 + index}: cannot reach push2his", code=f"{510000 + index}")

    response = client.get(reverse("admin:etfs_syncrun_change", args=[parent.pk]))
    second = client.get(reverse("admin:etfs_syncrun_change", args=[parent.pk]), {"problems": 2})

    page = response.content.decode()
    assert [chunk.pk for chunk in response.context["chunks"]] == [c.pk for c in chunks]
    assert [(g.kind, g.count) for g in response.context["problem_groups"]] == [
        ("<n>: cannot reach push2his", 60)
    ]
    assert len(response.context["problems_page"].object_list) == 50
    assert len(second.context["problems_page"].object_list) == 10
    assert "Time left" in page and 'data-refresh-seconds="5"' in page


def test_the_task_state_shows_only_when_it_says_something(client, superuser, fanned_out):
    parent, _ = fanned_out
    now = timezone.now()
    Task.objects.create(
        id="t-parent",
        name="fan-out",
        func="etfs.tasks.execute_run",
        started=now,
        stopped=now,
        success=True,
    )
    SyncRun.objects.filter(pk=parent.pk).update(task_id="t-parent")
    finished = make_run(task_id="t-parent-2", trigger="admin")
    Task.objects.create(
        id="t-parent-2",
        name="x",
        func="etfs.tasks.execute_run",
        started=now,
        stopped=now,
        success=True,
    )

    running = client.get(reverse("admin:etfs_syncrun_change", args=[parent.pk])).content.decode()
    done = client.get(reverse("admin:etfs_syncrun_change", args=[finished.pk])).content.decode()

    assert "(success)" not in running
    assert "handed over; the run goes on" in running
    assert "(success)" in done


def test_run_names_read_as_nouns():
    from etfs.dashboard import run_name

    assert [run_name(label) for label in ("ETF lists", "ETF prices", "Corporate actions")] == [
        "ETF list",
        "ETF price",
        "corporate action",
    ]


@pytest.mark.parametrize("kind", SyncKind.values)
def test_every_kind_of_ended_run_is_re_run_from_its_page(client, superuser, kind):
    from django_q.models import OrmQ

    failed = make_run(kind=kind, status="failed", parameters={"codes": ["510300"]})
    page = client.get(reverse("admin:etfs_syncrun_change", args=[failed.pk])).content.decode()

    response = client.post(reverse("admin:etfs_syncrun_rerun", args=[failed.pk]))
    again = SyncRun.objects.exclude(pk=failed.pk).get()
    joined = client.post(reverse("admin:etfs_syncrun_rerun", args=[failed.pk]))

    assert 'id="rerun"' in page
    assert (again.kind, again.parameters, again.status) == (kind, {"codes": ["510300"]}, "queued")
    assert (again.retry_of, again.trigger) == (failed, "admin")
    assert response.url == reverse("admin:etfs_syncrun_change", args=[again.pk])
    assert OrmQ.objects.get().task_id() == again.task_id
    assert SyncRun.objects.count() == 2  # the second press joined the queued re-run
    assert joined.url == response.url


def test_an_active_run_or_a_chunk_offers_no_re_run(client, superuser, fanned_out):
    parent, chunks = fanned_out
    SyncRun.objects.filter(pk=chunks[0].pk).update(status="failed")

    for run in (parent, chunks[0]):
        page = client.get(reverse("admin:etfs_syncrun_change", args=[run.pk])).content.decode()
        assert 'id="rerun"' not in page
    client.post(reverse("admin:etfs_syncrun_rerun", args=[chunks[0].pk]))
    assert SyncRun.objects.count() == 3


def test_cancel_asks_first_and_the_answer_cancels(client, superuser):
    run = make_run(kind="etf_prices", status="running", scope="etf_prices", items_total=40)

    confirmation = client.get(reverse("admin:etfs_syncrun_cancel", args=[run.pk]))
    run.refresh_from_db()
    asked_only = run.cancel_requested
    client.post(reverse("admin:etfs_syncrun_cancel", args=[run.pk]))
    run.refresh_from_db()

    assert confirmation.status_code == 200
    assert f"Yes, cancel run #{run.pk}" in confirmation.content.decode()
    assert not asked_only  # looking at the question cancels nothing
    assert run.cancel_requested


def test_a_succeeded_runs_summary_reads_as_notes(client, superuser):
    ok = make_run(status="succeeded", error_summary="no trading on 2027-01-01")
    failed = make_run(status="failed", error_summary="could not fetch the ETF list")

    ok_page = client.get(reverse("admin:etfs_syncrun_change", args=[ok.pk])).content.decode()
    failed_page = client.get(reverse("admin:etfs_syncrun_change", args=[failed.pk]))

    assert 'class="fieldset-heading">Notes</h2>' in ok_page
    assert 'class="fieldset-heading">Errors</h2>' not in ok_page
    assert "no trading on 2027-01-01" in ok_page
    assert 'class="fieldset-heading">Errors</h2>' in failed_page.content.decode()


def test_the_rate_reads_with_its_thousands_grouped(client, superuser):
    """13,226 funds and 1,200,000 bars in six minutes: "2,204.3 items/min, 3,333 bars/s"."""
    now = timezone.now()
    run = make_run(
        kind="full_sync",
        started_at=now - dt.timedelta(minutes=6),
        finished_at=now,
        items_total=13_226,
        items_done=13_226,
        rows_created=1_200_000,
    )

    page = client.get(reverse("admin:etfs_syncrun_change", args=[run.pk])).content.decode()

    assert "2,204.3 items/min, 3,333 bars/s" in page


def test_a_chunked_runs_timeline_lists_its_chunks_problems_and_end_in_order(client, superuser):
    from tests.factories import make_run_error

    start = timezone.now() - dt.timedelta(minutes=10)
    parent = make_run(
        kind="etf_prices",
        status="partial",
        queued_at=start,
        started_at=start + dt.timedelta(seconds=1),
        finished_at=start + dt.timedelta(minutes=9),
    )
    for number in range(2):
        make_run(
            kind="etf_prices",
            status=("succeeded", "partial")[number],
            parent=parent,
            scope="",
            started_at=start + dt.timedelta(minutes=1 + 4 * number),
            finished_at=start + dt.timedelta(minutes=4 + 4 * number),
        )
    make_run_error(
        parent, "cannot reach push2his", code="510300", created_at=start + dt.timedelta(minutes=6)
    )

    page = client.get(reverse("admin:etfs_syncrun_change", args=[parent.pk]))
    events = [what for _, what in page.context["timeline"]]
    chunk_ids = sorted(parent.chunks.values_list("id", flat=True))

    assert events == [
        "queued (command)",
        "started",
        f"chunk #{chunk_ids[0]} started",
        f"chunk #{chunk_ids[0]} succeeded",
        f"chunk #{chunk_ids[1]} started",
        "error: 510300: cannot reach push2his",
        f"chunk #{chunk_ids[1]} partial",
        "ended partial",
    ]
    assert 'id="run-timeline"' in page.content.decode()
