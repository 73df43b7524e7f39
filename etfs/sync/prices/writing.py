"""Commit fetched bars in batches, each with the run's row counters in the same transaction.

A fund is counted done as soon as its bars are fetched and checked (``add``), so a run's
progress moves from the first fund on; what is written (new, updated, unchanged rows) is
counted only in the transaction that writes it, so a crash never claims rows it lost.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from etfs.providers.base import Bar, ProviderDataError

from ..jumps import after_price_batch
from ..runs import RunRecorder
from ..upsert import upsert_fund_bars
from .planning import FundPlan

# A batch is written when it holds ETFSYNC_PRICE_BATCH_ETFS funds or this many bars: memory
# stays bounded whatever the funds' histories, and a crash loses at most the batches being
# written.
BATCH_ROWS = 50_000
# Batches written at the same time on PostgreSQL, each in its own transaction on its own
# connection. A full history is bound by PostgreSQL's work on one connection (the COPY, three
# indexes, the foreign key checked row by row at the commit: 4-5 s of the server's CPU for
# 300 ETFs of 969 bars, docs/benchmarks.md); a second writer lets a second server process
# take a batch while the first commits.
WRITERS = 2
# A last batch of at least this many bars is written by every writer, a part each: a full
# history's last batch (about 19,000 bars) in half the time; a daily update's is one batch.
SPLIT_ROWS = 10_000

Entries = list[tuple[FundPlan, Sequence[Bar]]]


def concurrent_writers() -> int:
    """How many batches are written at once: WRITERS on PostgreSQL; one on SQLite (one writer
    at a time), inside a caller's transaction (the batches must be part of it), and with one
    request in flight (ETFSYNC_CONCURRENCY 1: one thing at a time, a cancel seen before the
    next fund is written)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return WRITERS if settings.ETFSYNC_CONCURRENCY > 1 else 1


class BarBatches:
    """Collects funds' bars and writes them a batch at a time (``writers`` at once)."""

    def __init__(self, recorder: RunRecorder, writers: int = 1):
        self.recorder = recorder
        self.entries: Entries = []
        self.rows = 0
        self.inserted = 0
        self.writers = BatchWriters(self.write_entries, writers) if writers > 1 else None

    def add(self, plan: FundPlan, bars: Sequence[Bar]) -> bool:
        """Keep one fund's bars (the fund is done: fetched and checked); write the batch once
        it is full. True when it was written (or handed to a writer)."""
        self.recorder.count(items_done=1)
        self.recorder.report("")
        self.entries.append((plan, bars))
        self.rows += len(bars)
        if len(self.entries) >= settings.ETFSYNC_PRICE_BATCH_ETFS or self.rows >= BATCH_ROWS:
            self.write()
            return True
        return False

    def write(self) -> None:
        entries, self.entries, self.rows = self.entries, [], 0
        if self.writers is not None and entries:
            self.writers.submit(entries)
        else:
            self.write_entries(entries)

    def close(self) -> None:
        """Write what is kept and wait for every batch; a writer's error is raised here. The
        last batch is written by every writer, a part each: nothing is fetched any more, and
        the run ends when it is written."""
        if self.writers is not None and len(self.entries) > 1 and self.rows >= SPLIT_ROWS:
            entries, self.entries, self.rows = self.entries, [], 0
            parts = min(self.writers.count, len(entries))
            for part in range(parts):
                self.writers.submit(entries[part::parts])
        self.write()
        if self.writers is not None:
            self.writers.close()

    def abandon(self) -> None:
        """After an error: wait for the batches being written, write no other."""
        self.entries, self.rows = [], 0
        if self.writers is not None:
            self.writers.close(drop=True)

    def write_entries(self, entries: Entries) -> None:
        """Commit the bars with the counters that count them: a crash loses at most this
        batch, and a re-run continues after it. The funds are counted done already."""
        if not entries:
            return
        try:
            with transaction.atomic():
                run = self.recorder.run
                result = upsert_fund_bars(
                    [(plan.security_id, bars) for plan, bars in entries],
                    run_id=run.parent_id or run.pk,
                )
                # Last in the transaction: the run's row is held from here to the commit.
                self.recorder.write_counts(
                    rows_created=result.inserted,
                    rows_updated=result.updated,
                    rows_unchanged=result.unchanged,
                )
        except (InterfaceError, OperationalError):
            raise  # the database is gone, not a bad value: the run ends with that error
        except DatabaseError as exc:
            if len(entries) == 1:
                plan = entries[0][0]
                error = ProviderDataError(f"cannot store its bars: {exc}")
                self.recorder.item_failed(
                    plan.code, error, security_id=plan.security_id, counted_done=True
                )
                return
            # A value the columns cannot hold fails the whole statement; find whose it is by
            # writing the funds one by one, so only that fund fails.
            for entry in entries:
                self.write_entries([entry])
            return
        after_price_batch(self.recorder, entries)
        with self.recorder.lock:
            self.inserted += result.inserted
            self.recorder.report(f"{self.inserted} new bars")


class BatchWriters:
    """Threads that write the batches handed to them, each on its own database connection,
    while the caller goes on fetching. At most one batch waits for a free writer: memory stays
    bounded by the writers' batches and that one."""

    def __init__(self, write: Callable[[Entries], None], count: int):
        self.write = write
        self.count = count
        self.waiting: queue.Queue[Entries | None] = queue.Queue(maxsize=1)
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self.dropping = False

    def submit(self, entries: Entries) -> None:
        self._raise_an_error()
        if not self.threads:  # started at the first batch: a run with nothing to write has none
            self.threads = [
                threading.Thread(target=self._work, name=f"bar-writer-{number}", daemon=True)
                for number in range(self.count)
            ]
            for thread in self.threads:
                thread.start()
        self.waiting.put(entries)

    def close(self, *, drop: bool = False) -> None:
        self.dropping = self.dropping or drop
        for _ in self.threads:
            self.waiting.put(None)
        for thread in self.threads:
            thread.join()
        self.threads = []
        if not drop:
            self._raise_an_error()

    def _work(self) -> None:
        try:
            while (entries := self.waiting.get()) is not None:
                if self.errors or self.dropping:
                    continue  # the run ends with the first error; nothing more is written
                try:
                    self.write(entries)
                except BaseException as exc:  # raised in the caller's thread
                    self.errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    def _raise_an_error(self) -> None:
        if self.errors:
            raise self.errors[0]
