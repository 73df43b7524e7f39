"""SyncRun bookkeeping: the lifecycle every sync kind shares (create or join, start, heartbeat,
finish), progress and problems, cancellation, stale recovery."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from etfs.models import (
    ACTIVE_STATUSES,
    COUNTERS,
    FINAL_STATUSES,
    Exchange,
    SyncRun,
    SyncRunError,
    SyncStatus,
    SyncTrigger,
)
from etfs.providers.base import ProviderBlocked, RowProblem

from .cooldown import active_cooldown, describe, start_cooldown
from .heartbeat import Heartbeat
from .notifications import notify_run_finished, notify_runs_finished
from .report import chunk_summary

logger = logging.getLogger(__name__)

DETAIL_LIMIT = 2000
QUEUED_RUN_MAX_WAIT = dt.timedelta(days=1)
__all__ = [
    "COUNTERS",
    "RunRecorder",
    "SyncAlreadyRunning",
    "create_run",
    "finish_run",
    "run_sync",
    "start_run",
]


class SyncAlreadyRunning(Exception):
    def __init__(self, run: SyncRun):
        super().__init__(f"run #{run.pk} of the same scope is already {run.status}")
        self.run = run


def scope_for(kind: str, parameters: dict) -> str:
    """Runs with the same scope must not overlap; different scopes may run side by side.

    The scope stands for the whole parameter set: the kind alone for the default run, else the
    kind and a hash of the canonical parameters (a string cut at the column's length once made
    two code lists that share their first codes one scope).
    """
    canonical = canonical_parameters(parameters)
    if not canonical:
        return kind
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()}"


def canonical_parameters(parameters: dict) -> dict:
    """One spelling per parameter set: no empty values, lists as sorted sets, the default
    exchanges (both) left out."""
    canonical = {}
    for key, value in (parameters or {}).items():
        if value in (None, "", False, [], (), {}):
            continue
        if key == "exchanges":
            value = sorted({str(exchange).upper() for exchange in value})
            if value == sorted(Exchange.values):
                continue
        elif key == "codes":
            value = sorted(set(value))
        canonical[key] = value
    return canonical


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


Body = Callable[["RunRecorder"], tuple[str, str]]


def run_sync(
    kind: str,
    body: Body,
    parameters: dict | None = None,
    *,
    run: SyncRun | None = None,
    trigger: str = SyncTrigger.COMMAND,
    user=None,
) -> SyncRun:
    """The one lifecycle of every sync kind: claim the run, beat while ``body`` works, finish.

    Without ``run`` a running run of ``kind`` is created (SyncAlreadyRunning if its scope is
    busy); with a queued ``run`` (a worker's task) it is started, or returned untouched when it
    is not queued any more. ``body(recorder)`` does the work and returns (status, summary); if
    it raises, the run ends failed with the error and the error goes on. The end is recorded
    only if the run is still active: a run that recovery failed or a cancel ended keeps that.
    """
    if run is None:
        run, created = create_run(
            kind, trigger, parameters or {}, user=user, status=SyncStatus.RUNNING
        )
        if not created:
            raise SyncAlreadyRunning(run)
    elif not start_run(run):
        return run
    recorder = RunRecorder(run)
    with Heartbeat(run):
        try:
            status, summary = body(recorder)
        except BaseException as exc:
            finish_run(run, SyncStatus.FAILED, f"{type(exc).__name__}: {exc}")
            raise
    if recorder.ended:
        recorder.problem(
            f"the run was marked {recorder.ended} while its worker was still working; the "
            f"worker stopped at its next check (its own end: {status}, {summary or 'no notes'})",
            severity=SyncRunError.Severity.WARNING,
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

    Statuses only move forward (queued, running, then one final status), enforced in the
    UPDATE itself, so a worker that outlived its run's recovery cannot rewrite it.
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
        notify_run_finished(run)
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
        notify_runs_finished(dead_top_level)
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
    notify_runs_finished(pk for pk, parent in rows if not parent)
    return count, {parent for _, parent in rows if parent}


Progress = Callable[[int, int, str], None]  # (items done, items in all, what just happened)


class RunRecorder:
    """The one bookkeeper of a run while a service works: counters, problems, progress,
    heartbeat, and whether to stop (a cancel, an end given by someone else, a ban).

    Counters are added to the database with F() expressions, so chunk runs of one parent can
    report at the same time without losing each other's numbers.
    """

    def __init__(self, run: SyncRun, progress: Progress | None = None):
        self.run = run
        self.progress = progress
        self.totals = dict.fromkeys(COUNTERS, 0)  # everything counted, written or not
        self.pending = dict.fromkeys(COUNTERS, 0)  # counted, not written yet
        self.ended = ""  # the status the run was given by someone else while it worked
        self.first_error = ""
        self.cancelled = False  # asked to stop, or ended by someone else
        self.blocked = ""  # why the source refuses us, once it does
        # Warnings counted by kind, for the summary ("2 warning(s) about suspicious units").
        self.warning_kinds: Counter[str] = Counter()
        self._last_check = time.monotonic()

    def count(self, **counters: int) -> None:
        """Add to the counters in memory; the next ``flush()`` writes them. A service that
        commits in batches flushes inside each batch's transaction: the run's counters then
        agree with the rows stored, at one write per batch instead of one per item."""
        for name, value in counters.items():
            self.totals[name] += value
            self.pending[name] += value

    def add(self, **counters: int) -> None:
        """Add to the counters and write them (with any pending ones) at once."""
        self.flush(**counters)

    def flush(self, **counters: int) -> None:
        """Write the pending counters plus ``counters``; they count only once written."""
        merged = {name: self.pending[name] + counters.get(name, 0) for name in COUNTERS}
        merged = {name: value for name, value in merged.items() if value}
        if not merged:
            return
        updates = {name: F(name) + value for name, value in merged.items()}
        updates["heartbeat_at"] = timezone.now()
        SyncRun.objects.filter(pk=self.run.pk).update(**updates)
        if self.run.parent_id:
            SyncRun.objects.filter(pk=self.run.parent_id).update(**updates)
        self.pending = dict.fromkeys(COUNTERS, 0)
        for name, value in counters.items():
            self.totals[name] += value

    def items_skipped(self, count: int, label: str = "up to date") -> None:
        if count:
            self.count(items_done=count)
            self.report(label)

    def item_failed(self, code: str, error: Exception, *, security_id: int | None = None) -> None:
        """One item failed (the others go on): a problem with the source's answer, if any."""
        self.first_error = self.first_error or f"{code}: {error}"
        detail = getattr(error, "body", "") or ""
        self.problem(str(error), code=code, security_id=security_id, detail=detail)
        self.count(items_done=1, items_failed=1)
        self.report(code)

    def report(self, label: str) -> None:
        if self.progress:
            self.progress(self.totals["items_done"], self.run.items_total, label)

    @property
    def stopped(self) -> bool:
        return self.cancelled or bool(self.blocked)

    def check_stop(self, *, force: bool = False) -> bool:
        """At most once a second unless forced: write what was counted since the last write,
        beat, and see whether the run must stop (cancelled, ended by someone else, or its
        source cooling down after a ban any worker may have seen: ``run.provider``'s)."""
        now = time.monotonic()
        if force or now - self._last_check >= 1.0:
            self._last_check = now
            self.flush()
            self.cancelled = self.beat()
            cooldown = active_cooldown(self.run.provider) if self.run.provider else None
            if cooldown is not None:
                self.blocked = describe(cooldown)
        return self.stopped

    def blocked_by(self, error: ProviderBlocked, source: str | None = None) -> None:
        """The source signalled a ban: record a cooldown every worker will respect."""
        self.blocked = describe(start_cooldown(source or self.run.provider, str(error)))
        self.problem(str(error), detail=getattr(error, "body", "") or "")

    def set_provider(self, provider: str) -> None:
        """Say which source (or sources, comma-separated) served the run."""
        self.run.provider = provider[:30]
        SyncRun.objects.filter(pk=self.run.pk).update(provider=self.run.provider)
        if self.run.parent_id:  # the first chunk to start says it for the fan-out's parent
            SyncRun.objects.filter(pk=self.run.parent_id, provider="").update(
                provider=self.run.provider
            )

    def mark_stale_source(self, newest_day) -> None:
        """Every security is still far behind after this run: keep the source's newest day
        (a chunk's parent takes it once every chunk has found the same; see
        finish_parent_if_last)."""
        self.run.stale_source_day = newest_day
        SyncRun.objects.filter(pk=self.run.pk).update(stale_source_day=newest_day)

    def set_total(self, items_total: int) -> None:
        self.run.items_total = items_total
        SyncRun.objects.filter(pk=self.run.pk).update(items_total=items_total)

    def beat(self) -> bool:
        """Record that the worker is alive; True when the run must stop: someone asked it to,
        or it is not running any more (recovery failed it while this worker was still alive).
        ``ended`` then says which status it has."""
        alive = SyncRun.objects.filter(pk=self.run.pk, status=SyncStatus.RUNNING).update(
            heartbeat_at=timezone.now()
        )
        if not alive:
            status = SyncRun.objects.filter(pk=self.run.pk).values_list("status", flat=True)
            self.ended = status.first() or "deleted"
            return True
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
        self.warning_kinds.update(
            problem.kind or "other" for problem in problems if not problem.fatal
        )
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
