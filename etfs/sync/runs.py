"""SyncRun bookkeeping: create (or join), start, progress, problems, finish, stale recovery."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from etfs.models import ACTIVE_STATUSES, COUNTERS, Exchange, SyncRun, SyncRunError, SyncStatus
from etfs.providers.base import RowProblem

from .notifications import notify_run_finished, notify_runs_finished
from .report import chunk_summary

logger = logging.getLogger(__name__)

DETAIL_LIMIT = 2000
QUEUED_RUN_MAX_WAIT = dt.timedelta(days=1)
__all__ = ["COUNTERS", "RunRecorder", "SyncAlreadyRunning", "create_run", "finish_run"]


class SyncAlreadyRunning(Exception):
    def __init__(self, run: SyncRun):
        super().__init__(f"run #{run.pk} of the same scope is already {run.status}")
        self.run = run


def scope_for(kind: str, parameters: dict) -> str:
    """Runs with the same scope must not overlap; different scopes may run side by side."""
    parts = [kind]
    exchanges = sorted(set(parameters.get("exchanges") or ()))
    if exchanges and exchanges != sorted(Exchange.values):  # both exchanges = the default
        parts.append("exchanges=" + ",".join(exchanges))
    if parameters.get("codes"):
        parts.append("codes=" + ",".join(sorted(parameters["codes"])))
    return ":".join(parts)[:200]


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


def start_run(run: SyncRun) -> bool:
    """Move a queued run to running; False if it is not queued any more (already taken)."""
    now = timezone.now()
    started = SyncRun.objects.filter(pk=run.pk, status=SyncStatus.QUEUED).update(
        status=SyncStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    run.refresh_from_db()
    return bool(started)


def finish_run(run: SyncRun, status: str, summary: str = "") -> SyncRun:
    try:
        return _finish_run(run, status, summary)
    except (InterfaceError, OperationalError):
        # The database connection was lost mid-run: drop it and record the end on a new one.
        # If the database is still gone, the stale-run check marks the run failed later.
        connection.close()
        return _finish_run(run, status, summary)


def _finish_run(run: SyncRun, status: str, summary: str) -> SyncRun:
    run.refresh_from_db(fields=COUNTERS + ("cancel_requested", "items_total"))
    run.status = status
    run.finished_at = timezone.now()
    run.heartbeat_at = run.finished_at
    if summary:
        run.error_summary = summary[:5000]
    run.save(update_fields=["status", "finished_at", "heartbeat_at", "error_summary"])
    notify_run_finished(run)
    logger.info("run #%s %s finished %s %s", run.pk, run.kind, status, summary)
    return run


def recover_stale_runs() -> int:
    """Mark runs failed whose worker stopped sending heartbeats (killed, database lost).

    Called before every new run and by a schedule every few minutes, so a dead run is noticed
    within ETFSYNC_STALE_RUN_SECONDS plus that interval.
    """
    now = timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.ETFSYNC_STALE_RUN_SECONDS)
    stale = SyncRun.objects.filter(status=SyncStatus.RUNNING, heartbeat_at__lt=stale_before)
    parent_ids = set(stale.exclude(parent=None).values_list("parent_id", flat=True))
    top_level_ids = list(stale.filter(parent=None).values_list("pk", flat=True))
    count = stale.update(
        status=SyncStatus.FAILED,
        finished_at=now,
        error_summary="The worker stopped sending heartbeats (killed or lost its database); "
        "marked failed. A new run continues where this one stopped.",
    )
    notify_runs_finished(top_level_ids)
    count += _fail_orphaned_queued_runs(now, stale_before)
    if count:
        logger.warning("marked %d stale run(s) failed", count)
    for parent_id in parent_ids:
        finish_parent_if_last(SyncRun(parent_id=parent_id))
    return count


def _fail_orphaned_queued_runs(now, stale_before) -> int:
    """Queued runs no worker will ever take: their task was never queued (a crash between the
    run and its task), or it has waited longer than QUEUED_RUN_MAX_WAIT."""
    without_task = SyncRun.objects.filter(
        status=SyncStatus.QUEUED, task_id="", queued_at__lt=stale_before
    )
    count = without_task.update(
        status=SyncStatus.FAILED,
        finished_at=now,
        error_summary="Never started: its task was not queued (the process that created it "
        "stopped first). Start the sync again.",
    )
    forgotten = SyncRun.objects.filter(
        status=SyncStatus.QUEUED, queued_at__lt=now - QUEUED_RUN_MAX_WAIT
    )
    return count + forgotten.update(
        status=SyncStatus.FAILED,
        finished_at=now,
        error_summary="Never started: no qcluster worker took it within a day. Is `manage.py "
        "qcluster` running?",
    )


class RunRecorder:
    """What a service reports while it works: counters, problems, heartbeat, cancellation.

    Counters are added to the database with F() expressions, so chunk runs of one parent can
    report at the same time without losing each other's numbers.
    """

    def __init__(self, run: SyncRun):
        self.run = run
        self.totals = dict.fromkeys(COUNTERS, 0)

    def add(self, **counters: int) -> None:
        counters = {name: value for name, value in counters.items() if value}
        if not counters:
            return
        for name, value in counters.items():
            self.totals[name] += value
        updates = {name: F(name) + value for name, value in counters.items()}
        updates["heartbeat_at"] = timezone.now()
        SyncRun.objects.filter(pk=self.run.pk).update(**updates)
        if self.run.parent_id:
            SyncRun.objects.filter(pk=self.run.parent_id).update(**updates)

    def set_provider(self, provider: str) -> None:
        """Say which source (or sources, comma-separated) served the run."""
        self.run.provider = provider[:30]
        SyncRun.objects.filter(pk=self.run.pk).update(provider=self.run.provider)

    def set_total(self, items_total: int) -> None:
        self.run.items_total = items_total
        SyncRun.objects.filter(pk=self.run.pk).update(items_total=items_total)

    def beat(self) -> bool:
        """Record that the worker is alive; True when someone asked the run to stop."""
        now = timezone.now()
        SyncRun.objects.filter(pk=self.run.pk).update(heartbeat_at=now)
        ids = [self.run.pk] + ([self.run.parent_id] if self.run.parent_id else [])
        return SyncRun.objects.filter(pk__in=ids, cancel_requested=True).exists()

    def problem(
        self,
        message: str,
        *,
        code: str = "",
        severity=SyncRunError.Severity.ERROR,
        detail: str | bytes = "",
        security_id: int | None = None,
    ) -> None:
        self.problems([(message, code, severity, detail, security_id)])

    def row_problems(self, problems: list[RowProblem], security_id: int | None = None) -> None:
        self.problems(
            [
                (
                    problem.message,
                    problem.code,
                    SyncRunError.Severity.REJECTED
                    if problem.fatal
                    else SyncRunError.Severity.WARNING,
                    problem.row,
                    security_id,
                )
                for problem in problems
            ]
        )

    def problems(self, entries) -> None:
        # Problems of a chunk are kept on the top-level run, where users look for them.
        run_id = self.run.parent_id or self.run.pk
        rows = [
            SyncRunError(
                run_id=run_id,
                message=str(message)[:2000],
                code=code or "",
                severity=severity,
                detail=_text(detail)[:DETAIL_LIMIT],
                security_id=security_id,
            )
            for message, code, severity, detail, security_id in entries
        ]
        if rows:
            SyncRunError.objects.bulk_create(rows)


def _text(detail: str | bytes | None) -> str:
    if not detail:
        return ""
    if isinstance(detail, bytes):
        return detail.decode("utf-8", errors="replace")
    return str(detail)


def cancel_runs(queryset) -> tuple[int, int]:
    """Ask active runs (and their chunks) to stop; queued ones end at once.

    Returns (asked, cancelled now). A running worker stops at its next ETF boundary.
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
        finish_run(parent, status, chunk_summary(chunks))
