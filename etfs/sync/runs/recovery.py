"""Runs nobody will finish: workers that stopped beating, queued runs no worker took; and
cancelling on request."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from etfs.models import ACTIVE_STATUSES, SyncRun, SyncStatus

from .fanout import finish_parent_if_last
from .lifecycle import announce_finished

logger = logging.getLogger(__name__)

QUEUED_RUN_MAX_WAIT = dt.timedelta(days=1)


def recover_stale_runs() -> int:
    """Mark runs failed whose worker stopped sending heartbeats (killed, database lost).

    Called before every new run and by a schedule every few minutes, so a dead run is noticed
    within ETFSYNC_STALE_RUN_SECONDS plus that interval. A parent of chunks does no work of its
    own: its end is computed from its chunks (finish_parent_if_last), never from its heartbeat,
    so that a parent whose chunks wait in the queue keeps their summary.
    """
    now = timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.ETFSYNC_STALE_RUN_SECONDS)
    stale = SyncRun.objects.filter(status=SyncStatus.RUNNING, heartbeat_at__lt=stale_before)
    rows = stale.annotate(has_chunks=Exists(SyncRun.objects.filter(parent=OuterRef("pk"))))
    rows = list(rows.values_list("pk", "parent_id", "has_chunks"))
    dead = [pk for pk, _, has_chunks in rows if not has_chunks]
    dead_top_level = [pk for pk, parent, has_chunks in rows if not has_chunks and not parent]
    parent_ids = {pk for pk, _, has_chunks in rows if has_chunks}
    parent_ids |= {parent for _, parent, has_chunks in rows if parent and not has_chunks}
    count = 0
    if dead:
        count = stale.filter(pk__in=dead).update(
            status=SyncStatus.FAILED,
            finished_at=now,
            error_summary="The worker stopped sending heartbeats (killed or lost its database); "
            "marked failed. A new run continues where this one stopped.",
        )
        announce_finished(dead_top_level)
    orphaned, orphans_parents = _fail_orphaned_queued_runs(now, stale_before)
    count += orphaned
    if count:
        logger.warning("marked %d stale run(s) failed", count)
    for parent_id in sorted(parent_ids | orphans_parents):
        finish_parent_if_last(SyncRun(parent_id=parent_id))
    return count


def _fail_orphaned_queued_runs(now, stale_before) -> tuple[int, set[int]]:
    """Queued runs no worker will ever take: their task was never queued (a crash between the
    run and its task), or it has waited longer than QUEUED_RUN_MAX_WAIT.

    Returns how many were failed and the parents of those that were chunks.
    """
    without_task = Q(task_id="", queued_at__lt=stale_before)
    forgotten = Q(queued_at__lt=now - QUEUED_RUN_MAX_WAIT)
    queued = SyncRun.objects.filter(status=SyncStatus.QUEUED)
    rows = list(queued.filter(without_task | forgotten).values_list("pk", "parent_id"))
    if not rows:
        return 0, set()
    count = queued.filter(without_task).update(
        status=SyncStatus.FAILED,
        finished_at=now,
        error_summary="Never started: its task was not queued (the process that created it "
        "stopped first). Start the sync again.",
    )
    count += queued.filter(forgotten).update(
        status=SyncStatus.FAILED,
        finished_at=now,
        error_summary="Never started: no qcluster worker took it within a day. Is `manage.py "
        "qcluster` running?",
    )
    # Announced like a dead worker's run: nobody else notices a run that never started.
    announce_finished(pk for pk, parent in rows if not parent)
    return count, {parent for _, parent in rows if parent}


def cancel_runs(queryset) -> tuple[int, int]:
    """Ask active runs (and their chunks) to stop; queued ones end at once.

    Returns (asked, cancelled now). A running worker stops at its next check (should_stop).
    """
    asked = queryset.filter(status__in=ACTIVE_STATUSES).update(cancel_requested=True)
    return asked, cancel_queued(queryset)


def cancel_queued(queryset) -> int:
    """Cancel runs that no worker has started yet (their tasks will find them final)."""
    return queryset.filter(status=SyncStatus.QUEUED).update(
        status=SyncStatus.CANCELLED,
        finished_at=timezone.now(),
        error_summary="Cancelled before it started.",
    )
