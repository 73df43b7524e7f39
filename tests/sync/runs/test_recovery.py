"""Run bookkeeping: runs nobody will finish are found and closed, whatever went wrong."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from etfs.models import SyncRun, SyncStatus
from etfs.sync.runs import finish_run, recover_stale_runs
from tests.database import terminate_backend
from tests.factories import make_run


@pytest.mark.django_db
class TestOrphanedQueuedRuns:
    def test_a_queued_run_whose_task_was_never_queued_is_failed(self, settings):
        settings.ETFSYNC_STALE_RUN_SECONDS = 60
        old = timezone.now() - dt.timedelta(seconds=120)
        orphan = make_run(status="queued", queued_at=old, task_id="", scope="etf_lists")
        waiting = make_run(status="queued", task_id="", scope="etf_prices")  # just created

        assert recover_stale_runs() == 1

        orphan.refresh_from_db()
        waiting.refresh_from_db()
        assert orphan.status == SyncStatus.FAILED
        assert "task was not queued" in orphan.error_summary
        assert waiting.status == SyncStatus.QUEUED

    def test_a_run_no_worker_took_for_a_day_is_failed_and_frees_its_scope(self):
        long_ago = timezone.now() - dt.timedelta(days=1, minutes=1)
        forgotten = make_run(status="queued", queued_at=long_ago, task_id="abc")
        recent = make_run(status="queued", task_id="def", scope="etf_prices")

        assert recover_stale_runs() == 1

        forgotten.refresh_from_db()
        recent.refresh_from_db()
        assert forgotten.status == SyncStatus.FAILED
        assert "qcluster" in forgotten.error_summary
        assert recent.status == SyncStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_a_run_is_finished_on_a_new_connection_after_the_database_dropped_the_old_one():
    run = make_run(status="running", scope="etf_prices")
    pid = connection.connection.info.backend_pid
    terminate_backend(pid)  # another session ends ours, as a database restart or a failover would

    finish_run(run, SyncStatus.FAILED, "the database went away")

    run.refresh_from_db()
    assert (run.status, run.error_summary) == (SyncStatus.FAILED, "the database went away")
    assert connection.connection.info.backend_pid != pid
    assert not SyncRun.objects.filter(status=SyncStatus.RUNNING).exists()
