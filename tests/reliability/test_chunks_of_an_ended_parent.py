"""Chunks a cluster takes after their parent has ended do nothing and end cancelled.

After a database outage, chunk tasks that were already pulled ran a Q_RETRY later, when their
parent had ended, and added to its counters. Here the parent fans out in this process, ends
while its chunks wait in the queue, and only then does a real cluster start.
"""

import pytest
from django.utils import timezone

from etfs.models import SyncKind, SyncRun, SyncStatus
from etfs.tasks import enqueue_sync, execute_run
from tests.qcluster import wait_until
from tests.reliability.conftest import KLINE

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]


def test_chunks_queued_when_their_parent_ended_do_nothing(server, start_qcluster, settings):
    settings.ETFSYNC_PRICE_CHUNK_ETFS = 2  # 6 funds -> 3 chunks
    parent, _ = enqueue_sync(SyncKind.ETF_PRICES, "admin", {"start_year": 2024})
    execute_run(parent.pk)  # the fan-out: three chunk tasks wait in the queue
    ended = SyncRun.objects.filter(pk=parent.pk, status=SyncStatus.RUNNING).update(
        status=SyncStatus.FAILED, finished_at=timezone.now(), error_summary="ended early"
    )
    assert ended == 1
    assert list(parent.chunks.values_list("status", flat=True)) == [SyncStatus.QUEUED] * 3

    cluster = start_qcluster(server, ETFSYNC_PRICE_CHUNK_ETFS="2")
    wait_until(
        lambda: not parent.chunks.filter(status=SyncStatus.QUEUED).exists(),
        "the chunks being taken",
        timeout=60,
        process=cluster,
    )

    parent.refresh_from_db()
    assert (parent.status, parent.error_summary) == (SyncStatus.FAILED, "ended early")
    assert (parent.items_done, parent.rows_fetched, parent.rows_created) == (0, 0, 0)
    for chunk in parent.chunks.all():
        assert chunk.status == SyncStatus.CANCELLED
        assert chunk.error_summary == (
            f"Not run: its parent run #{parent.pk} had already ended (failed)."
        )
    assert not server.paths(KLINE)
