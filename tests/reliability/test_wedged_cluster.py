"""A killed idle worker wedges django-q2's cluster (upstream issues #23, #339): the queued run
never starts. ``manage.py check_workers``, run from outside the cluster, notices, fails the run
with the reason, notifies, and exits 1 so that a supervisor restarts the cluster; after the
restart the queue works again. A real qcluster and a real SIGKILL."""

import datetime as dt
import io
import os
import re
import signal
import time

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import OrmQ

from etfs.models import SyncKind, SyncRun, SyncStatus, SyncTrigger
from etfs.tasks import enqueue_sync
from tests.qcluster import stop_process_group, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

PICKUP = 300  # ETFSYNC_QUEUED_RUN_PICKUP_SECONDS's default


def check_workers() -> str:
    out = io.StringIO()
    call_command("check_workers", stdout=out)
    return out.getvalue()


def later(seconds: float):
    return time_machine.travel(timezone.now() + dt.timedelta(seconds=seconds), tick=True)


def worker_pids(cluster) -> list[int]:
    return [
        int(pid) for pid in re.findall(r"ready for work at (\d+)", cluster.log_path.read_text())
    ]


@pytest.mark.qcluster
def test_a_killed_idle_worker_wedges_the_cluster_and_the_check_recovers(
    start_qcluster, fake_eastmoney, settings
):
    settings.ADMINS = [("ops", "ops@example.com")]
    cluster = start_qcluster(fake_eastmoney, Q_WORKERS="2")
    wait_until(lambda: len(worker_pids(cluster)) == 2, "two workers", timeout=60, process=cluster)
    wait_until(lambda: "running" in cluster.log_path.read_text(), "the cluster", process=cluster)

    os.kill(worker_pids(cluster)[0], signal.SIGKILL)  # idle: it holds nothing but the queue
    wait_until(
        lambda: "reincarnated" in cluster.log_path.read_text(), "a new worker", process=cluster
    )
    run, _ = enqueue_sync(SyncKind.ETF_LISTS, SyncTrigger.SCHEDULE, {})
    time.sleep(3)  # time enough for an idle cluster (it polls every 0.2 s) to start it
    run.refresh_from_db()
    assert run.status == SyncStatus.QUEUED  # the upstream bug: nobody takes it
    assert check_workers().startswith("workers ok")  # within the pick-up limit: not yet

    with later(PICKUP + 60), pytest.raises(CommandError) as raised:
        check_workers()

    assert raised.value.returncode == 1
    assert str(raised.value).startswith("the workers make no progress: 1 queued run(s) waited")
    run.refresh_from_db()
    assert run.status == SyncStatus.FAILED
    assert run.error_summary.startswith(
        "Never started: no worker picked it up within 5 minute(s) and no worker made progress"
    )
    assert len(mail.outbox) == 1 and f"#{run.pk}" in mail.outbox[0].subject
    assert not OrmQ.objects.exists()  # its task left the queue with it

    # What the supervisor does (deploy/): stop the wedged cluster, start it again.
    stop_process_group(cluster)
    again = start_qcluster(fake_eastmoney, Q_WORKERS="2")
    second, _ = enqueue_sync(SyncKind.ETF_LISTS, SyncTrigger.SCHEDULE, {})
    wait_until(
        lambda: SyncRun.objects.get(pk=second.pk).is_final,
        "the next run",
        timeout=90,
        process=again,
    )
    assert SyncRun.objects.get(pk=second.pk).status == SyncStatus.SUCCEEDED
    assert check_workers().startswith("workers ok")


def test_a_run_waiting_behind_busy_workers_is_left_alone(db):
    busy = SyncRun.objects.create(
        kind=SyncKind.ETF_PRICES, status=SyncStatus.RUNNING, task_id="busy", scope="prices"
    )
    waiting, _ = enqueue_sync(SyncKind.ETF_LISTS, SyncTrigger.ADMIN, {})

    with later(PICKUP + 60):
        SyncRun.objects.filter(pk=busy.pk).update(
            started_at=timezone.now(), heartbeat_at=timezone.now()
        )
        output = check_workers()

    assert output.startswith("workers ok: 1 run(s) waiting longer than 300 s")
    waiting.refresh_from_db()
    assert waiting.status == SyncStatus.QUEUED


def test_without_any_worker_a_queued_run_fails_after_the_pickup_limit(db, settings):
    settings.ETFSYNC_QUEUED_RUN_PICKUP_SECONDS = 120
    run, _ = enqueue_sync(SyncKind.CALENDAR, SyncTrigger.ADMIN, {})

    with later(60):
        check_workers()
    with later(180), pytest.raises(CommandError):
        check_workers()

    run.refresh_from_db()
    assert run.status == SyncStatus.FAILED
    assert "within 2 minute(s)" in run.error_summary
