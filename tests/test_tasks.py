"""The scheduled stale-run check (etfs.tasks.recover_stale_runs, every 5 minutes) does what
`manage.py check_workers` does: dead runs and queued runs that no worker picked up."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from etfs.models import SyncKind, SyncStatus
from etfs.schedules import RECOVERY, ensure_schedules
from tests.factories import make_run

pytestmark = pytest.mark.django_db


def scheduled_check() -> str:
    """What the schedule runs, found as the cluster finds it: by its dotted name."""
    ensure_schedules()
    return import_string(Schedule.objects.get(name=RECOVERY).func)()


def test_a_queued_run_no_worker_picked_up_fails(settings):
    queued = make_run(status="queued", task_id="lost-task")

    with time_machine.travel(
        timezone.now() + dt.timedelta(seconds=settings.ETFSYNC_QUEUED_RUN_PICKUP_SECONDS + 60)
    ):
        result = scheduled_check()

    queued.refresh_from_db()
    assert queued.status == SyncStatus.FAILED
    assert queued.error_summary.startswith("Never started: no worker picked it up within 5 min")
    assert result.startswith("the workers make no progress: 1 queued run(s) waited")


def test_a_run_whose_worker_stopped_beating_fails(settings):
    old = timezone.now() - dt.timedelta(seconds=settings.ETFSYNC_STALE_RUN_SECONDS + 1)
    dead = make_run(status="running", heartbeat_at=old)

    result = scheduled_check()

    dead.refresh_from_db()
    assert dead.status == SyncStatus.FAILED
    assert result.endswith("1 dead run(s) marked failed")


def test_a_run_waiting_behind_a_busy_worker_stays_queued(settings):
    waited = dt.timedelta(seconds=settings.ETFSYNC_QUEUED_RUN_PICKUP_SECONDS + 60)
    queued = make_run(status="queued", task_id="waiting")

    with time_machine.travel(timezone.now() + waited):
        make_run(SyncKind.ETF_PRICES, status="running", task_id="busy")  # beating now
        result = scheduled_check()

    queued.refresh_from_db()
    assert queued.status == SyncStatus.QUEUED
    assert result.startswith("workers ok: 1 run(s) waiting longer than")
