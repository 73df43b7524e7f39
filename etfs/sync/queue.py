"""Enqueue sync runs on django-q2: the one path the admin, commands, API and schedules share."""

from __future__ import annotations

from django_q.tasks import async_task

from etfs.models import SyncKind, SyncRun, SyncRunError, SyncStatus

from .runs import create_run, finish_run

EXECUTE_RUN = "etfs.tasks.execute_run"


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
        task_id = async_task(EXECUTE_RUN, run.pk, task_name=f"{kind} run {run.pk}", group=kind)
    except Exception as exc:
        finish_run(run, SyncStatus.FAILED, f"could not enqueue the task: {exc}")
        raise
    SyncRun.objects.filter(pk=run.pk).update(task_id=task_id)
    run.task_id = task_id
    return run, True


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
