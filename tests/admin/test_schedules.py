"""The schedules page: kind, cron, next run time, the runs a schedule started; pause, resume,
run now; and the front page's next scheduled runs and last successful run per kind."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import OrmQ, Schedule
from django_q.scheduler import scheduler

from etfs.models import SyncKind, SyncRun
from etfs.schedules import ensure_schedules
from etfs.tasks import scheduled_sync
from tests.factories import make_run

pytestmark = pytest.mark.django_db

PAGE = "/admin/django_q/schedule/"
CALENDAR = "etfsync: trading calendar (every morning)"
DAILY = "etfsync: daily update of ETFs and stocks (after the close)"


@pytest.fixture
def operator(client):
    client.force_login(User.objects.create_superuser("root", password="unused"))
    ensure_schedules()
    return client


def act(client, action: str, *names: str):
    ids = Schedule.objects.filter(name__in=names).values_list("pk", flat=True)
    return client.post(PAGE, {"action": action, "_selected_action": list(ids)})


def test_each_schedule_shows_its_kind_cron_next_run_and_the_runs_it_started(operator):
    started = make_run(kind="full_sync", status="succeeded", schedule=DAILY)
    make_run(kind="full_sync", status="succeeded")  # by hand: not the schedule's

    page = operator.get(PAGE).content.decode()

    assert "Full sync (daily: True)" in page
    assert "<code>15 16 * * 1-5</code>" in page
    assert f'<a href="/admin/etfs/syncrun/{started.pk}/change/">#{started.pk}</a>' in page
    assert page.count("/admin/etfs/syncrun/") == 1
    next_run = timezone.localtime(Schedule.objects.get(name=DAILY).next_run)
    assert next_run.strftime("%Y-%m-%d %H:%M") in page


def test_a_run_a_schedule_fires_records_the_schedule():
    ensure_schedules()
    schedule = Schedule.objects.get(name=CALENDAR)

    scheduled_sync(SyncKind.CALENDAR, {}, False, schedule=schedule.name)

    assert SyncRun.objects.get().schedule == CALENDAR
    assert schedule.kwargs == repr({"schedule": CALENDAR})  # what the scheduler passes


@pytest.mark.django_db(transaction=True)  # the scheduler closes the connection it finds
def test_a_paused_schedule_fires_nothing_and_resumes_from_its_next_time(operator):
    due = timezone.now() - dt.timedelta(hours=1)
    Schedule.objects.filter(name__in=[CALENDAR, DAILY]).update(next_run=due)

    act(operator, "pause", CALENDAR)
    scheduler(broker=get_broker())  # django-q2's own scheduler, as the cluster runs it

    fired = {task.task["group"] for task in OrmQ.objects.all()}
    assert Schedule.objects.get(name=CALENDAR).repeats == 0
    assert "Paused" in operator.get(PAGE).content.decode()
    assert DAILY in fired and CALENDAR not in fired

    act(operator, "resume", CALENDAR)

    resumed = Schedule.objects.get(name=CALENDAR)
    assert resumed.repeats == -1
    assert resumed.next_run > timezone.now()  # the missed time is not fired at once


def test_run_now_queues_a_run_of_the_schedules_kind_and_parameters(operator):
    response = act(operator, "run_now", DAILY)

    run = SyncRun.objects.get()
    assert (run.kind, run.parameters, run.trigger) == ("full_sync", {"daily": True}, "admin")
    assert response.url == f"/admin/etfs/syncrun/{run.pk}/change/"
    assert OrmQ.objects.count() == 1


def test_the_front_page_shows_the_next_scheduled_runs_and_the_last_success_per_kind(operator):
    with time_machine.travel(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC), tick=False):
        succeeded = make_run(kind="etf_lists", status="succeeded")
        succeeded.finished_at = timezone.now()
        succeeded.save()
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        make_run(kind="etf_lists", status="failed")
        # The schedules' next runs from this moment (17:00 in Shanghai: the calendar's 07:45 is
        # the soonest), not from whenever the suite runs.
        Schedule.objects.all().delete()
        ensure_schedules()
        page = operator.get("/admin/").content.decode()

    assert f'Last successful: <a href="/admin/etfs/syncrun/{succeeded.pk}/change/">' in page
    assert f"Run #{succeeded.pk}</a>, 1\xa0day ago" in page
    assert 'id="next-schedules"' in page
    assert 'Trading calendar <span class="quiet">(etfsync: trading calendar' in page
