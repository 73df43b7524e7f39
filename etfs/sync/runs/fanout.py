"""Fan-out: a top-level run split into chunk runs that any worker can take.

The parent holds the totals: each chunk adds its counters to the parent as it goes, and the
chunk that finishes last finishes the parent. Creating the chunks is bookkeeping; queueing
their tasks is the task module's (tasks.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from etfs.models import ACTIVE_STATUSES, SyncRun, SyncStatus

from ..report import chunk_summary
from .lifecycle import finish_run


def create_chunks(parent: SyncRun, parameter_sets: Iterable[dict]) -> list[SyncRun]:
    """Queued chunk runs of ``parent``, one per parameter set, in order."""
    return SyncRun.objects.bulk_create(
        SyncRun(
            kind=parent.kind,
            trigger=parent.trigger,
            requested_by_id=parent.requested_by_id,
            parent=parent,
            parameters=parameters,
            status=SyncStatus.QUEUED,
        )
        for parameters in parameter_sets
    )


def finish_parent_if_last(chunk: SyncRun) -> None:
    """Finish the parent once no chunk is queued or running; its status sums the chunks'."""
    with transaction.atomic():
        parent = SyncRun.objects.select_for_update().get(pk=chunk.parent_id)
        if parent.is_final or parent.chunks.filter(status__in=ACTIVE_STATUSES).exists():
            return
        chunks = list(parent.chunks.order_by("id").values_list("id", "status", "error_summary"))
        stale_days = list(parent.chunks.values_list("stale_source_day", flat=True))
        if stale_days and None not in stale_days:  # stale for every one of its securities
            parent.stale_source_day = max(stale_days)
            parent.save(update_fields=["stale_source_day"])
        statuses = {status for _, status, _ in chunks}
        if statuses == {SyncStatus.SUCCEEDED}:
            status = SyncStatus.SUCCEEDED
        elif statuses == {SyncStatus.FAILED}:
            status = SyncStatus.FAILED
        elif SyncStatus.CANCELLED in statuses:
            status = SyncStatus.CANCELLED
        else:
            status = SyncStatus.PARTIAL
        finish_run(parent, status, chunk_summary(chunks))
