"""A scheduled or API run that ends failed or partial is announced by mail and webhook."""

import datetime as dt
import json

import pytest
import time_machine
from django.core import mail

from etfs.models import SyncStatus
from etfs.sync.runs import finish_parent_if_last, finish_run
from tests.factories import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(httpserver, settings):
    """A local HTTP server standing in for the webhook; settings point at it."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    settings.ETFSYNC_NOTIFY_WEBHOOK_URL = httpserver.url_for("/hook")
    settings.ADMINS = [("ops", "ops@example.com")]
    settings.ETFSYNC_BASE_URL = "https://etfsync.example.com"
    return httpserver


def received(httpserver) -> list[dict]:
    return [json.loads(request.data) for request, _ in httpserver.log]


def finish(run, status, summary, callbacks):
    with callbacks(execute=True):
        return finish_run(run, status, summary)


def test_a_failed_scheduled_run_mails_the_admins_and_posts_json(
    receiver, django_capture_on_commit_callbacks
):
    run = make_run(kind="etf_prices", status="running", trigger="schedule", items_total=3)

    finish(run, SyncStatus.FAILED, "3 of 3 ETF(s) failed", django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.to == ["ops@example.com"]
    assert f"Run #{run.pk} (ETF prices, Schedule) ended failed" in message.subject
    assert "3 of 3 ETF(s) failed" in message.body
    [document] = received(receiver)
    assert document["run"] == run.pk
    assert (document["status"], document["trigger"], document["kind"]) == (
        "failed",
        "schedule",
        "etf_prices",
    )
    assert document["summary"] == "3 of 3 ETF(s) failed"
    assert document["url"] == f"https://etfsync.example.com/admin/etfs/syncrun/{run.pk}/change/"


@pytest.mark.parametrize(
    ("trigger", "status"),
    [("admin", "failed"), ("command", "partial"), ("schedule", "succeeded"), ("api", "cancelled")],
)
def test_runs_someone_watches_or_that_went_well_stay_quiet(
    receiver, django_capture_on_commit_callbacks, trigger, status
):
    run = make_run(status="running", trigger=trigger)

    finish(run, status, "", django_capture_on_commit_callbacks)

    assert mail.outbox == []
    assert received(receiver) == []


def test_a_partial_api_run_notifies_once_for_the_parent_not_per_chunk(
    receiver, django_capture_on_commit_callbacks
):
    parent = make_run(kind="etf_prices", status="running", trigger="api", scope="etf_prices")
    chunks = [
        make_run(kind="etf_prices", status="running", trigger="api", parent=parent, scope="")
        for _ in range(2)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        finish_run(chunks[0], SyncStatus.SUCCEEDED)
        finish_run(chunks[1], SyncStatus.PARTIAL, "1 of 50 ETF(s) failed")
        finish_parent_if_last(chunks[1])

    assert [document["run"] for document in received(receiver)] == [parent.pk]
    assert received(receiver)[0]["status"] == "partial"
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("both_stale", [True, False], ids=["every chunk", "one chunk"])
def test_a_fanned_out_run_is_stale_when_every_chunk_found_it_so(
    receiver, django_capture_on_commit_callbacks, both_stale
):
    """Each chunk judges its own ETFs; the parent is stale (and announced) only when all are."""
    parent = make_run(kind="etf_prices", status="running", trigger="schedule", scope="etf_prices")
    newest = [dt.date(2024, 3, 26), dt.date(2024, 3, 25) if both_stale else None]
    chunks = [
        make_run(kind="etf_prices", status="running", trigger="schedule", parent=parent, scope="")
        for _ in newest
    ]
    for chunk, day in zip(chunks, newest, strict=True):
        chunk.stale_source_day = day
        chunk.save()

    with django_capture_on_commit_callbacks(execute=True):
        for chunk in chunks:
            finish_run(chunk, SyncStatus.SUCCEEDED)
        finish_parent_if_last(chunks[1])

    parent.refresh_from_db()
    assert parent.status == SyncStatus.SUCCEEDED
    if both_stale:
        assert parent.stale_source_day == dt.date(2024, 3, 26)
        assert [d["stale_source_day"] for d in received(receiver)] == ["2024-03-26"]
        assert "the source's data are stale (newest 2024-03-26)" in mail.outbox[0].subject
    else:
        assert parent.stale_source_day is None
        assert received(receiver) == []


def test_an_unreachable_webhook_does_not_change_the_run(
    receiver, settings, closed_port_url, django_capture_on_commit_callbacks
):
    settings.ETFSYNC_NOTIFY_WEBHOOK_URL = closed_port_url + "/hook"
    run = make_run(status="running", trigger="schedule")

    finished = finish(run, SyncStatus.FAILED, "boom", django_capture_on_commit_callbacks)

    assert finished.status == SyncStatus.FAILED
    run.refresh_from_db()
    assert run.status == SyncStatus.FAILED
    assert len(mail.outbox) == 1


def test_without_admins_or_webhook_nothing_is_sent(settings, django_capture_on_commit_callbacks):
    settings.ADMINS = []
    settings.ETFSYNC_NOTIFY_WEBHOOK_URL = ""
    run = make_run(status="running", trigger="schedule")

    finish(run, SyncStatus.FAILED, "boom", django_capture_on_commit_callbacks)

    assert mail.outbox == []


def test_a_scheduled_run_whose_worker_died_is_announced_when_marked_failed(
    receiver, settings, django_capture_on_commit_callbacks
):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from etfs.sync.runs import recover_stale_runs

    run = make_run(status="running", trigger="schedule", scope="etf_prices")
    later = timezone.now() + dt.timedelta(seconds=settings.ETFSYNC_STALE_RUN_SECONDS + 60)

    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        recover_stale_runs()

    [document] = received(receiver)
    assert (document["run"], document["status"]) == (run.pk, "failed")
    assert "stopped sending heartbeats" in document["summary"]
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("fields", "wait", "words"),
    [
        ({"task_id": ""}, dt.timedelta(hours=1), "its task was not queued"),
        ({"task_id": "lost"}, dt.timedelta(days=2), "no qcluster worker took it"),
    ],
)
def test_a_scheduled_run_that_never_started_is_announced_when_marked_failed(
    receiver, django_capture_on_commit_callbacks, fields, wait, words
):
    from django.utils import timezone

    from etfs.sync.runs import recover_stale_runs

    run = make_run(status="queued", trigger="schedule", scope="etf_prices", **fields)
    chunk = make_run(status="queued", trigger="schedule", parent=run, scope="", **fields)

    with time_machine.travel(timezone.now() + wait, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            recover_stale_runs()

    chunk.refresh_from_db()
    assert chunk.status == "failed"
    [document] = received(receiver)  # the run, not its chunk
    assert (document["run"], document["status"]) == (run.pk, "failed")
    assert words in document["summary"]
    assert len(mail.outbox) == 1
