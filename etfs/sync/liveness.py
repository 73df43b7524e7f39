"""Whether the workers make progress, checked from a process of its own.

django-q2's cluster can wedge: after a worker is killed (``kill -9``, the OOM killer) while it
holds the task queue's lock, the reincarnated and surviving workers block on that lock for
good, the queued task never starts, and SIGTERM cannot stop the cluster (django-q2 issues #23
and #339; #346 for the stop handler). The stale-run check is a task of that same cluster, so it
cannot be the only net. ``manage.py check_workers`` runs the recovery from outside (a systemd
timer, a container's liveness probe; deploy/ has both) and exits non-zero when the cluster
holds queued work but makes no progress, so that the supervisor restarts it:

- runs whose worker stopped beating are failed (``recover_stale_runs``);
- a queued run that no worker took within ETFSYNC_QUEUED_RUN_PICKUP_SECONDS, while no worker
  made any progress (no run started or beat) in that time, fails with that reason and is
  notified like a dead worker's run; its task leaves the ORM broker's queue. A run waiting
  behind busy workers is not touched: their heartbeats are progress.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from etfs.models import SyncRun, SyncStatus

from .runs import finish_parent_if_last, recover_stale_runs
from .runs.lifecycle import announce_finished


@dataclass(frozen=True)
class WorkerCheck:
    """What one check found and did."""

    stale_failed: int  # runs whose worker stopped beating, failed now
    waiting: int  # queued runs older than the pick-up limit
    never_picked_up: int  # of those, failed now because no worker made progress
    last_progress: dt.datetime | None

    @property
    def wedged(self) -> bool:
        return self.never_picked_up > 0

    def describe(self) -> str:
        limit = settings.ETFSYNC_QUEUED_RUN_PICKUP_SECONDS
        if self.wedged:
            since = (
                f"since {self.last_progress:%Y-%m-%d %H:%M:%S %Z}" if self.last_progress else "ever"
            )
            return (
                f"the workers make no progress: {self.never_picked_up} queued run(s) waited "
                f"more than {limit} s and no worker has started or advanced a run {since}; "
                "marked failed. Restart the cluster (`manage.py qcluster`)."
            )
        return (
            f"workers ok: {self.waiting} run(s) waiting longer than {limit} s, "
            f"{self.stale_failed} dead run(s) marked failed"
        )


def check_workers(now: dt.datetime | None = None) -> WorkerCheck:
    """Fail dead runs and runs no worker picks up; say whether the cluster is wedged."""
    stale_failed = recover_stale_runs()
    now = now or timezone.now()
    limit = dt.timedelta(seconds=settings.ETFSYNC_QUEUED_RUN_PICKUP_SECONDS)
    progress = last_worker_progress()
    waiting = SyncRun.objects.filter(status=SyncStatus.QUEUED, queued_at__lt=now - limit)
    rows = list(waiting.values_list("pk", "parent_id", "task_id"))
    failed = 0
    if rows and (progress is None or progress < now - limit):
        failed = _fail_never_picked_up(rows, now, limit)
    return WorkerCheck(stale_failed, len(rows), failed, progress)


def last_worker_progress() -> dt.datetime | None:
    """When a worker last started or advanced a queued run (command runs do not count)."""
    taken = SyncRun.objects.exclude(task_id="")
    found = taken.aggregate(started=Max("started_at"), beat=Max("heartbeat_at"))
    moments = [moment for moment in found.values() if moment is not None]
    return max(moments, default=None)


def _fail_never_picked_up(rows, now: dt.datetime, limit: dt.timedelta) -> int:
    minutes = limit.total_seconds() / 60
    count = SyncRun.objects.filter(
        pk__in=[pk for pk, _, _ in rows], status=SyncStatus.QUEUED
    ).update(
        status=SyncStatus.FAILED,
        finished_at=now,
        error_summary=f"Never started: no worker picked it up within {minutes:g} minute(s) and "
        "no worker made progress meanwhile (the cluster is stopped or wedged). Restart "
        "`manage.py qcluster`, then start the sync again.",
    )
    _forget_tasks([task_id for _, _, task_id in rows if task_id])
    announce_finished(pk for pk, parent, _ in rows if not parent)  # notified like a dead run's
    for parent_id in sorted({parent for _, parent, _ in rows if parent}):
        finish_parent_if_last(SyncRun(parent_id=parent_id))
    return count


def _forget_tasks(task_ids: list[str]) -> None:
    """Take the failed runs' tasks out of the ORM broker's queue (a wedged cluster had locked
    them for Q_CLUSTER's ``retry`` seconds; a restarted one would take them then, for nothing).
    With Redis the pusher has already taken them off the list."""
    if "orm" not in settings.Q_CLUSTER:
        return
    from django_q.models import OrmQ

    doomed = [queued.pk for queued in OrmQ.objects.all() if queued.task_id() in task_ids]
    OrmQ.objects.filter(pk__in=doomed).delete()
