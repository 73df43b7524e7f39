"""django-q2 entry points, and the one place that enqueues.

The doors (admin, commands, API) and the schedules queue runs here; a task loads its run,
looks its job up in the registry (etfs/sync/registry.py) and runs it, or, for a run its job
splits, creates the chunk runs and queues them. Nothing under etfs/sync/ names a task.
"""

from __future__ import annotations

import logging

from django_q.tasks import async_task

from etfs.models import SyncKind, SyncRun, SyncRunError, SyncStatus, SyncTrigger
from etfs.sync.calendar import UnknownDay, is_trading_day, shanghai_now
from etfs.sync.liveness import check_workers
from etfs.sync.registry import job_for
from etfs.sync.runs import (
    create_chunks,
    create_run,
    finish_parent_if_last,
    finish_run,
    start_run,
)

logger = logging.getLogger(__name__)

# Tasks are stored by dotted name (django-q2 shows it; a qcluster imports it).
EXECUTE_RUN = f"{__name__}.execute_run"


def enqueue_sync(
    kind: str, trigger: str, parameters: dict | None = None, *, user=None, retry_of=None
) -> tuple[SyncRun, bool]:
    """Create a queued run and its task; join the active run of the same scope if there is one.

    Returns (run, created). ``created`` is False when an equal run was already queued or running.
    """
    run, created = create_run(kind, trigger, parameters, user=user, retry_of=retry_of)
    if not created:
        return run, False
    try:
        _queue(run, f"{kind} run {run.pk}")
    except Exception as exc:
        finish_run(run, SyncStatus.FAILED, f"could not enqueue the task: {exc}")
        raise
    return run, True


def _queue(run: SyncRun, name: str) -> None:
    task_id = async_task(EXECUTE_RUN, run.pk, task_name=name, group=run.kind)
    SyncRun.objects.filter(pk=run.pk).update(task_id=task_id)
    run.task_id = task_id


def rerun(run: SyncRun, *, trigger: str, user=None) -> tuple[SyncRun, bool]:
    """Start ``run`` again: a new run of its kind with its parameters, linked to it.

    The scope rule still holds: when a run of the same scope is queued or running, that run is
    returned (created=False) rather than a second one started.
    """
    return enqueue_sync(run.kind, trigger, run.parameters, user=user, retry_of=run)


def retry_failed_items(run: SyncRun, *, trigger: str, user=None) -> tuple[SyncRun, bool] | None:
    """Start a new price run, linked to ``run``, for only the ETFs that failed in it.

    Returns None when nothing failed. Failures of chunks are recorded on the top-level run.
    """
    codes = sorted(
        set(
            run.errors.filter(severity=SyncRunError.Severity.ERROR)
            .exclude(code="")
            .values_list("code", flat=True)
        )
    )
    if run.kind != SyncKind.ETF_PRICES or not codes:
        return None
    parameters = {**run.parameters, "codes": codes}
    return enqueue_sync(run.kind, trigger, parameters, user=user, retry_of=run)


def execute_run(run_id: int) -> str:
    """Run a queued run's job; a chunk finishes its parent when it is the last; a run its job
    splits becomes chunk runs, queued here."""
    run = SyncRun.objects.get(pk=run_id)
    job = job_for(run.kind)
    options = job.options.from_parameters(run.parameters)
    if run.parent_id:
        try:
            run = job.execute(options, run=run)
        finally:
            # Also when the chunk raised (it is marked failed then): the parent must not wait.
            finish_parent_if_last(run)
        return f"run #{run.pk}: {run.status}"
    split = job.split(options) if job.split else None
    if split is None:
        run = job.execute(options, run=run)
    elif start_run(run):
        SyncRun.objects.filter(pk=run.pk).update(items_total=split.items_total)
        chunks = create_chunks(run, [part.as_parameters() for part in split.chunks])
        for chunk in chunks:
            _queue(chunk, f"{job.slug} chunk {chunk.pk}")
        run.refresh_from_db()
    return f"run #{run.pk}: {run.status}"


def scheduled_sync(
    kind: str, parameters: dict | None = None, trading_days_only=True, schedule: str = ""
) -> str:
    """What a schedule fires: one run of ``kind`` (joined if one is active), on trading days.

    On a day the calendar does not know yet the run starts and asks the source itself. The
    run records the ``schedule`` that started it (its name), for the schedules page.
    """
    today = shanghai_now().date()
    if trading_days_only and not _maybe_trading_day(today):
        return f"{today} is not a trading day; nothing to do"
    run, created = create_run(kind, SyncTrigger.SCHEDULE, parameters or {})
    if not created:
        return f"run #{run.pk} is already {run.status}; not starting another"
    if schedule:
        SyncRun.objects.filter(pk=run.pk).update(schedule=schedule[:100])
    return execute_run(run.pk)


def _maybe_trading_day(day) -> bool:
    try:
        return is_trading_day(day)
    except UnknownDay:
        return True


def recover_stale_runs() -> str:
    """The scheduled stale-run check: the checks of ``manage.py check_workers`` (runs whose
    worker stopped beating, queued runs no worker picked up), by the same function."""
    return check_workers().describe()
