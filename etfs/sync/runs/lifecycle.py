"""The lifecycle every sync kind shares: create or join a run, start it, beat while its body
works, finish it. Statuses only move forward (queued, running, then one final status).

The end of a top-level run is announced with the ``run_finished`` signal; what listens
(notifications, etfs/notifications.py) is no part of the bookkeeping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from etfs.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    SyncRun,
    SyncStatus,
    SyncTrigger,
)

from .heartbeat import Heartbeat
from .problems import Problem
from .recorder import RunRecorder, RunStopped
from .scope import scope_for

logger = logging.getLogger(__name__)

# Sent (with ``run``) once a run has reached its final status, after the surrounding commit is
# known to be wanted: receivers use transaction.on_commit for anything they send out.
run_finished = Signal()


class SyncAlreadyRunning(Exception):
    def __init__(self, run: SyncRun):
        super().__init__(f"run #{run.pk} of the same scope is already {run.status}")
        self.run = run


def create_run(
    kind: str,
    trigger: str,
    parameters: dict | None = None,
    *,
    user=None,
    status: str = SyncStatus.QUEUED,
    retry_of: SyncRun | None = None,
) -> tuple[SyncRun, bool]:
    """Create a top-level run, or return the active run of the same scope (created=False)."""
    from .recovery import recover_stale_runs  # recovery finishes runs: it imports this module

    parameters = parameters or {}
    recover_stale_runs()
    scope = scope_for(kind, parameters)
    now = timezone.now()
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                kind=kind,
                trigger=trigger,
                parameters=parameters,
                scope=scope,
                requested_by=user if user and user.is_authenticated else None,
                status=status,
                retry_of=retry_of,
                started_at=now if status == SyncStatus.RUNNING else None,
                heartbeat_at=now if status == SyncStatus.RUNNING else None,
            )
    except IntegrityError:
        existing = SyncRun.objects.active().filter(scope=scope, parent__isnull=True).first()
        if existing is None:  # it finished in between; try once more
            return create_run(
                kind, trigger, parameters, user=user, status=status, retry_of=retry_of
            )
        return existing, False
    return run, True


Body = Callable[[RunRecorder], tuple[str, str]]


def run_sync(
    kind: str,
    body: Body,
    parameters: dict | None = None,
    *,
    run: SyncRun | None = None,
    trigger: str = SyncTrigger.COMMAND,
    user=None,
    progress=None,
) -> SyncRun:
    """The one lifecycle of every sync kind: claim the run, beat while ``body`` works, finish.

    Without ``run`` a running run of ``kind`` is created (SyncAlreadyRunning if its scope is
    busy); with a queued ``run`` (a worker's task) it is started, or returned untouched when it
    is not queued any more. ``body(recorder)`` does the work and returns (status, summary); if
    it raises, the run ends failed with the error and the error goes on (RunStopped ends it as
    the recorder says). The end is recorded only if the run is still active: a run that
    recovery failed or a cancel ended keeps that.
    """
    if run is None:
        run, created = create_run(
            kind, trigger, parameters or {}, user=user, status=SyncStatus.RUNNING
        )
        if not created:
            raise SyncAlreadyRunning(run)
    elif not start_run(run):
        return run
    recorder = RunRecorder(run, progress)
    with Heartbeat(run):
        try:
            status, summary = body(recorder)
        except RunStopped:
            recorder.flush()
            status, summary = recorder.stopped_outcome()
        except BaseException as exc:
            finish_run(run, SyncStatus.FAILED, f"{type(exc).__name__}: {exc}")
            raise
    if recorder.ended:
        recorder.record(
            Problem.warning(
                f"the run was marked {recorder.ended} while its worker was still working; the "
                f"worker stopped at its next check (its own end: {status}, "
                f"{summary or 'no notes'})"
            )
        )
    return finish_run(run, status, summary)


def start_run(run: SyncRun) -> bool:
    """Move a queued run to running; False if it is not queued any more (already taken).

    A chunk starts only while its parent is active; a chunk whose parent has ended (failed by
    recovery, cancelled) is cancelled instead, so that it adds nothing to a finished run.
    """
    now = timezone.now()
    queued = SyncRun.objects.filter(pk=run.pk, status=SyncStatus.QUEUED)
    if run.parent_id:
        queued = queued.filter(parent__status__in=ACTIVE_STATUSES)
    started = queued.update(status=SyncStatus.RUNNING, started_at=now, heartbeat_at=now)
    if not started and run.parent_id:
        _cancel_chunk_of_ended_parent(run, now)
    run.refresh_from_db()
    return bool(started)


def _cancel_chunk_of_ended_parent(chunk: SyncRun, now) -> None:
    parent = SyncRun.objects.filter(pk=chunk.parent_id).values_list("status", flat=True).first()
    if parent in FINAL_STATUSES:
        SyncRun.objects.filter(pk=chunk.pk, status=SyncStatus.QUEUED).update(
            status=SyncStatus.CANCELLED,
            finished_at=now,
            heartbeat_at=now,
            error_summary=f"Not run: its parent run #{chunk.parent_id} had already ended "
            f"({parent}).",
        )


def finish_run(run: SyncRun, status: str, summary: str = "") -> SyncRun:
    """Record the end of an active run; a run that has ended already keeps its end.

    Statuses only move forward, enforced in the UPDATE itself, so a worker that outlived its
    run's recovery cannot rewrite it.
    """
    try:
        return _finish_run(run, status, summary)
    except (InterfaceError, OperationalError):
        # The database connection was lost mid-run: drop it and record the end on a new one.
        # If the database is still gone, the stale-run check marks the run failed later.
        connection.close()
        return _finish_run(run, status, summary)


def _finish_run(run: SyncRun, status: str, summary: str) -> SyncRun:
    now = timezone.now()
    fields = {"status": status, "finished_at": now, "heartbeat_at": now}
    if summary:
        fields["error_summary"] = summary[:5000]
    finished = SyncRun.objects.filter(pk=run.pk, status__in=ACTIVE_STATUSES).update(**fields)
    run.refresh_from_db()
    if finished:
        run_finished.send(SyncRun, run=run)
        logger.info("run #%s %s finished %s %s", run.pk, run.kind, status, summary)
    else:
        logger.warning(
            "run #%s had ended %s already; its worker's end (%s: %s) is not recorded",
            run.pk,
            run.status,
            status,
            summary,
        )
    return run


def announce_finished(run_ids) -> None:
    """For runs ended in bulk (recovery): ``run_finished`` for each."""
    for run in SyncRun.objects.filter(pk__in=list(run_ids)).select_related("requested_by"):
        run_finished.send(SyncRun, run=run)
