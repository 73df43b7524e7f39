"""A real django-q2 cluster (separate processes) runs a queued list sync end to end."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django_q.models import Task

from etfs.models import StockInfo, SyncKind, SyncStatus
from etfs.sync.queue import enqueue_sync

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

PROJECT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60


def this_tests_database_url() -> str:
    """The URL of the database this test uses, for the cluster's settings_test."""
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def qcluster(fake_eastmoney, tmp_path):
    """``manage.py qcluster`` in its own process group, on this test's database and fake server.

    settings_test reads the fake's URLs from ETFSYNC_TEST_PUSH2_URL / ETFSYNC_TEST_PUSH2HIS_URL.
    """
    environment = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="etfsync_site.settings_test",
        TEST_DATABASE_URL=this_tests_database_url(),
        ETFSYNC_TEST_PUSH2_URL=fake_eastmoney.url,
        ETFSYNC_TEST_PUSH2HIS_URL=fake_eastmoney.url,
        Q_WORKERS="1",
        Q_POLL="0.2",
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "qcluster.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=PROJECT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process.log_path = log_path
    yield process
    stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """Ask the cluster to stop, then SIGKILL whatever is left of its process group.

    SIGTERM goes to the main process only: it stops its sentinel and workers in order, which
    a SIGTERM to every process of the group at once would disturb.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


def wait_for(condition, process, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if process.poll() is not None:
            break
        time.sleep(0.2)
    log = process.log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"{what} did not happen within {WAIT_SECONDS} s; qcluster log:\n{log}")


def test_a_queued_list_sync_runs_on_the_cluster(qcluster, fake_eastmoney):
    run, created = enqueue_sync(SyncKind.ETF_LISTS, "admin", {})
    assert created

    def finished():
        run.refresh_from_db()
        return run.is_final

    wait_for(finished, qcluster, f"run #{run.pk} finishing")

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert run.trigger == "admin"
    assert (run.rows_fetched, run.rows_created) == (6, 6)
    assert StockInfo.objects.etfs().count() == 6
    assert set(StockInfo.objects.values_list("exchange", flat=True)) == {"XSHG", "XSHE"}
    assert len(fake_eastmoney.paths("/api/qt/clist/get")) == 1
    task = wait_for(
        lambda: Task.objects.filter(id=run.task_id).first(), qcluster, "the task result"
    )
    assert task.success
    assert task.result == f"run #{run.pk}: succeeded"
