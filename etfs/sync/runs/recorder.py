"""The bookkeeper of a run while a service works: counters, problems, progress, and whether
to stop.

Three separate things, on purpose:
- the heartbeat, beaten by a thread of its own (``heartbeat.py``) whatever the work does;
- ``should_stop()``, the one check every long step honours (after each fund, each page, each
  list): a cancel, an end given by someone else, or the source cooling down after a ban;
- counting: ``count()`` adds to the counters in memory, ``flush()`` writes them (inside a
  batch's transaction, or at most once a second from ``should_stop()``: a run's progress moves
  as items are done, at one UPDATE a second, not one per item), and ``record()`` stores
  problems together with the counters they imply (``problems.py``).

The rate is measured from the first item done one by one (``SyncRun.first_item_at``); items
done at once before it (up to date, taken from one list pass) are left out of it
(``SyncRun.items_before_first_item``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from etfs.models import COUNTERS, SyncRun, SyncRunError, SyncStatus
from etfs.providers.base import PagingStopped, ProviderBlocked, RowProblem

from ..cooldown import active_cooldown, describe, start_cooldown
from .problems import COUNTED, DERIVED_COUNTERS, Problem

Progress = Callable[[int, int, str], None]  # (items done, items in all, what just happened)

# Progress (pending counters) is written, and another worker's ban looked up, at most this
# often; a cancel or an end is read at every check.
SLOW_CHECK_SECONDS = 1.0


# The run's (and its parent's) status and cancel flag, for one id or two.
RUN_STATES_SQL = {
    count: f"SELECT id, status, cancel_requested FROM {SyncRun._meta.db_table}"
    f" WHERE id IN ({', '.join(['%s'] * count)})"
    for count in (1, 2)
}


class RunStopped(PagingStopped):
    """Raised from a page callback when the run must stop; ``run_sync`` ends the run as the
    recorder says (cancelled, or stopped by a ban). A source that keeps its pages hands them
    over on it (``fetched``): the list syncs store them (etfs/sync/lists.py)."""


class RunRecorder:
    """Counters are added to the database with F() expressions, so chunk runs of one parent
    can report at the same time without losing each other's numbers."""

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
        self._slow_checked = time.monotonic()
        self._first_item_at = None  # when the first item was done one by one
        self._first_item_written = False
        # Counting, writing the counters, storing problems and reporting progress may come from
        # the price sync's batch writers as well as from the thread that runs the job.
        self.lock = threading.RLock()

    # -- counting ----------------------------------------------------------------------------

    def count(self, **counters: int) -> None:
        """Add to the counters in memory; the next ``flush()`` writes them. A service that
        commits in batches flushes inside each batch's transaction: the run's counters then
        agree with the rows stored, at one write per batch instead of one per item.

        ``warnings`` and ``rows_rejected`` are not counted here: ``record()`` derives them
        from the problems it stores.
        """
        derived = DERIVED_COUNTERS & counters.keys()
        if derived:
            raise ValueError(f"{', '.join(sorted(derived))}: counted by record(), not count()")
        with self.lock:
            for name, value in counters.items():
                self.totals[name] += value
                self.pending[name] += value
            if counters.get("items_done") and self._first_item_at is None:
                self._first_item_at = timezone.now()

    def flush(self, *, wait: bool = True) -> None:
        """Write the pending counters (to the run and, for a chunk, its parent).

        ``wait=False`` (progress between batches): when another transaction holds a run's row
        (a batch writer committing its rows with their counts, a chunk of the same parent),
        the counters stay pending for the next flush instead of waiting for that commit, which
        would stop the fetching for as long."""
        with self.lock:
            pending = {name: value for name, value in self.pending.items() if value}
            if not pending:
                return
            if wait:
                self._write_pending(pending)
                return
            with transaction.atomic():
                if self._rows_taken():
                    return
                self._write_pending(pending)

    def _write_pending(self, pending: dict[str, int]) -> None:
        if pending.get("items_done") and not self._first_item_written:
            self._mark_first_item()
        self._add_to_runs(pending)
        self.pending = dict.fromkeys(COUNTERS, 0)

    def _rows_taken(self) -> bool:
        """Whether another transaction holds the run's (or its parent's) row; the rows free
        are locked for the caller's transaction."""
        ids = self._ids()
        free = (
            SyncRun.objects.filter(pk__in=ids)
            .order_by("pk")
            .select_for_update(skip_locked=True, no_key=True)
            .values_list("pk", flat=True)
        )
        return len(list(free)) < len(ids)

    def write_counts(self, **counters: int) -> None:
        """Count and write now, in the caller's transaction: a batch writer's row counts,
        committed with the rows they count (and only with them; ``flush()`` writes what the
        job's own thread counted)."""
        with self.lock:
            for name, value in counters.items():
                self.totals[name] += value
        written = {name: value for name, value in counters.items() if value}
        if written:
            self._add_to_runs(written)

    def _ids(self) -> list[int]:
        return [self.run.pk] + ([self.run.parent_id] if self.run.parent_id else [])

    def _mark_first_item(self) -> None:
        """The rate is measured from the first item done one by one; the items done at once
        before it (read before the counters are added) are left out of it."""
        SyncRun.objects.filter(pk__in=self._ids(), first_item_at__isnull=True).update(
            first_item_at=self._first_item_at, items_before_first_item=F("items_done")
        )
        self._first_item_written = True

    def _add_to_runs(self, counters: dict[str, int]) -> None:
        updates = {name: F(name) + value for name, value in counters.items()}
        # Written counters say the worker is alive, too (the heartbeat thread beats anyway).
        updates["heartbeat_at"] = timezone.now()
        SyncRun.objects.filter(pk__in=self._ids()).update(**updates)

    def items_done_at_once(self, count: int, label: str = "up to date") -> None:
        """Items done without work of their own (up to date, taken from one list pass):
        written now, and not part of the rate the time left is estimated from."""
        if count:
            self.totals["items_done"] += count
            self._add_to_runs({"items_done": count})
            self.report(label)

    def item_failed(
        self,
        code: str,
        error: Exception,
        *,
        security_id: int | None = None,
        counted_done: bool = False,
    ) -> None:
        """One item failed (the others go on): a problem with the source's answer, if any.
        ``counted_done``: it was counted done already (fetched; its bars could not be
        stored)."""
        with self.lock:
            self.first_error = self.first_error or f"{code}: {error}"
            self.record(Problem.of_error(error, code=code, security_id=security_id))
            self.count(items_failed=1, **({} if counted_done else {"items_done": 1}))
            self.report(code)

    def report(self, label: str) -> None:
        if self.progress:
            with self.lock:
                self.progress(self.totals["items_done"], self.run.items_total, label)

    # -- problems ----------------------------------------------------------------------------

    def record(self, *problems: Problem) -> None:
        """Store problems and count them, in one transaction.

        Problems of a chunk are kept on the top-level run, where users look for them; the
        counters go to the chunk and its parent like every other counter.
        """
        if not problems:
            return
        counters: dict[str, int] = {}
        for problem in problems:
            if name := COUNTED.get(problem.severity):
                counters[name] = counters.get(name, 0) + 1
        run_id = self.run.parent_id or self.run.pk
        with self.lock:
            with transaction.atomic():
                SyncRunError.objects.bulk_create(problem.as_row(run_id) for problem in problems)
                if counters:
                    self._add_to_runs(counters)
            for name, value in counters.items():
                self.totals[name] += value
            self.warning_kinds.update(
                problem.kind
                for problem in problems
                if problem.kind and problem.severity == "warning"
            )

    def record_rows(self, problems: Iterable[RowProblem], security_id: int | None = None):
        """Rows a parser refused or doubted: rejected rows and warnings."""
        self.record(*(Problem.of_row(problem, security_id) for problem in problems))

    # -- stopping ----------------------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        """Whether a check has already said stop (no database read)."""
        return self.cancelled or bool(self.blocked)

    def should_stop(self, *, now: bool = False) -> bool:
        """Whether the run must stop: cancelled (it or its parent), ended by someone else
        (``ended`` then says how), or its source (``run.provider``) cooling down after a ban
        any worker may have seen. One read per call (a fund, a page); the progress counted so
        far is written and the ban looked up at most once a second, or when ``now`` (after
        a batch: with batches written more often than once a second, the clock alone would
        never let another worker's ban through)."""
        if self.stopped:
            return True
        clock = time.monotonic()
        slow = now or clock - self._slow_checked >= SLOW_CHECK_SECONDS
        if slow:
            self._slow_checked = clock
            self.flush(wait=False)
        rows = self._run_states()
        status, cancel = rows.get(self.run.pk, ("deleted", False))
        if status != SyncStatus.RUNNING:
            self.ended = status
        if self.ended or any(cancel for _, cancel in rows.values()):
            self.cancelled = True
            return True
        if slow and self.run.provider:
            cooldown = active_cooldown(self.run.provider)
            if cooldown is not None:
                self.blocked = describe(cooldown)
        return self.stopped

    def _run_states(self) -> dict[int, tuple[str, bool]]:
        """id -> (status, cancel requested) of the run and its parent: the read of every check,
        after every fund of a price run, in SQL of its own (the ORM built and compiled the same
        query 300 times a full history of 300 ETFs, a tenth of the job thread's CPU)."""
        ids = self._ids()
        with connection.cursor() as cursor:
            cursor.execute(RUN_STATES_SQL[len(ids)], ids)
            return {pk: (status, cancel) for pk, status, cancel in cursor.fetchall()}

    def stop_between_pages(self, *_page) -> None:
        """A page callback: raise RunStopped when the run must stop (a list being paged has
        no other way to end early)."""
        if self.should_stop():
            raise RunStopped

    def blocked_by(self, error: ProviderBlocked, source: str | None = None) -> None:
        """The source signalled a ban: record a cooldown every worker will respect."""
        self.blocked = describe(start_cooldown(source or self.run.provider, str(error)))
        self.record(Problem.of_error(error))

    def stopped_outcome(self) -> tuple[str, str]:
        """How a run that stopped early ends: cancelled, or stopped by a ban."""
        if self.blocked and not self.cancelled:
            done = self.totals["items_done"]
            status = SyncStatus.FAILED if done == 0 else SyncStatus.PARTIAL
            return status, f"stopped: {self.blocked}"
        return SyncStatus.CANCELLED, "cancelled on request"

    # -- what the run is -----------------------------------------------------------------------

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
        """Say how many items the run has. A step of a full sync adds its total to the parent
        (of another kind), as its counters go there too: the parent reports the whole run. A
        fan-out's parent (of the same kind) has its total from the split already."""
        change = items_total - self.run.items_total
        self.run.items_total = items_total
        SyncRun.objects.filter(pk=self.run.pk).update(items_total=items_total)
        if self.run.parent_id and change:
            SyncRun.objects.filter(pk=self.run.parent_id).exclude(kind=self.run.kind).update(
                items_total=F("items_total") + change
            )
