"""Commit fetched bars in batches, each with the run's row counters in the same transaction.

A fund is counted done as soon as its bars are fetched and checked (``add``), so a run's
progress moves from the first fund on; what is written (new, updated, unchanged rows) is
counted only in the transaction that writes it, so a crash never claims rows it lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction

from etfs.providers.base import Bar, ProviderDataError

from ..jumps import after_price_batch
from ..runs import RunRecorder
from ..upsert import upsert_fund_bars
from .planning import FundPlan

# A batch is written when it holds ETFSYNC_PRICE_BATCH_ETFS funds or this many bars: memory
# stays bounded whatever the funds' histories, and a crash loses at most one batch.
BATCH_ROWS = 50_000


class BarBatches:
    """Collects funds' bars and writes them a batch at a time."""

    def __init__(self, recorder: RunRecorder):
        self.recorder = recorder
        self.entries: list[tuple[FundPlan, Sequence[Bar]]] = []
        self.rows = 0
        self.inserted = 0

    def add(self, plan: FundPlan, bars: Sequence[Bar]) -> bool:
        """Keep one fund's bars (the fund is done: fetched and checked); write the batch once
        it is full. True when it was written."""
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
        self.write_entries(entries)

    def write_entries(self, entries: list[tuple[FundPlan, Sequence[Bar]]]) -> None:
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
                self.recorder.count(
                    rows_created=result.inserted,
                    rows_updated=result.updated,
                    rows_unchanged=result.unchanged,
                )
                self.recorder.flush()
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
        self.inserted += result.inserted
        self.recorder.report(f"{self.inserted} new bars")
