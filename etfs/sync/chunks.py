"""Fan-out of a queued price sync into chunk runs that any qcluster worker can take.

The parent run holds the totals: each chunk adds its counters to the parent as it goes, and
the chunk that finishes last finishes the parent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

from etfs.models import ACTIVE_STATUSES, StockInfo, SyncKind, SyncRun, SyncStatus

from .prices import PriceOptions, sync_etf_prices
from .queue import EXECUTE_RUN
from .runs import finish_run, start_run


def run_price_sync(run: SyncRun) -> SyncRun:
    """The queued entry point: a chunk runs its funds; a large top-level run fans out."""
    options = PriceOptions.from_parameters(run.parameters)
    if run.parent_id:
        run = sync_etf_prices(options, run=run)
        finish_parent_if_last(run)
        return run
    codes = list(options.codes) or list(
        StockInfo.objects.etfs().order_by("code").values_list("code", flat=True).distinct()
    )
    size = settings.ETFSYNC_PRICE_CHUNK_ETFS
    if len(codes) <= size:
        return sync_etf_prices(options, run=run)
    if not start_run(run):
        return run
    SyncRun.objects.filter(pk=run.pk).update(items_total=len(codes))
    chunks = SyncRun.objects.bulk_create(
        SyncRun(
            kind=SyncKind.ETF_PRICES,
            trigger=run.trigger,
            requested_by_id=run.requested_by_id,
            parent=run,
            parameters={**run.parameters, "codes": codes[start : start + size]},
            status=SyncStatus.QUEUED,
        )
        for start in range(0, len(codes), size)
    )
    for chunk in chunks:
        task_id = async_task(
            EXECUTE_RUN, chunk.pk, task_name=f"prices chunk {chunk.pk}", group=SyncKind.ETF_PRICES
        )
        SyncRun.objects.filter(pk=chunk.pk).update(task_id=task_id)
    run.refresh_from_db()
    return run


def finish_parent_if_last(chunk: SyncRun) -> None:
    """Finish the parent once no chunk is queued or running; its status sums the chunks'."""
    with transaction.atomic():
        parent = SyncRun.objects.select_for_update().get(pk=chunk.parent_id)
        if parent.is_final or parent.chunks.filter(status__in=ACTIVE_STATUSES).exists():
            return
        chunks = list(parent.chunks.order_by("id").values_list("id", "status", "error_summary"))
        statuses = {status for _, status, _ in chunks}
        if statuses == {SyncStatus.SUCCEEDED}:
            status = SyncStatus.SUCCEEDED
        elif statuses == {SyncStatus.FAILED}:
            status = SyncStatus.FAILED
        elif SyncStatus.CANCELLED in statuses:
            status = SyncStatus.CANCELLED
        else:
            status = SyncStatus.PARTIAL
        summary = "; ".join(f"chunk #{pk} {status}: {text}" for pk, status, text in chunks if text)
        finish_run(parent, status, summary)
