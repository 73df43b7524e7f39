"""Fan-out of a queued price sync into chunk runs that any qcluster worker can take.

The parent run holds the totals: each chunk adds its counters to the parent as it goes, and
the chunk that finishes last finishes the parent.
"""

from __future__ import annotations

from django.conf import settings
from django_q.tasks import async_task

from etfs.models import StockInfo, SyncKind, SyncRun, SyncStatus

from .prices import PriceOptions, sync_etf_prices
from .prices.planning import failed_in_last_price_run
from .queue import EXECUTE_RUN
from .runs import finish_parent_if_last, start_run


def run_price_sync(run: SyncRun) -> SyncRun:
    """The queued entry point: a chunk runs its funds; a large top-level run fans out."""
    options = PriceOptions.from_parameters(run.parameters)
    if run.parent_id:
        try:
            run = sync_etf_prices(options, run=run)
        finally:
            # Also when the chunk raised (it is marked failed then): the parent must not wait.
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
    # Funds that failed last time go into the last chunks (each chunk orders its own the same
    # way), so that whatever is wrong with them meets the others only after those are done.
    failed = StockInfo.objects.filter(pk__in=failed_in_last_price_run())
    failed_codes = set(failed.values_list("code", flat=True))
    codes.sort(key=lambda code: code in failed_codes)
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
