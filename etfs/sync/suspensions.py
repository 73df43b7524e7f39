"""The suspension sync: the source's daily snapshot of suspended securities, funds and stocks.

A snapshot lists the suspensions in force on its day (and ones announced for later days). The
daily run reads today's; a backfill reads the trading days that hold an unexplained gap of some
security, one request a day (more only for a day with over 500 suspensions), and says first
how many that is. Stored periods explain missing bars: the securities they touch have their
gaps counted again (sync/gaps.py), so that ``missing_days`` holds only unexplained days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.utils import timezone

from etfs.models import StockInfo, Suspension, SyncKind, SyncRun, SyncStatus, SyncTrigger
from etfs.providers.base import ProviderBlocked, SuspensionSource
from etfs.providers.base import Suspension as SuspensionRecord

from .calendar import shanghai_now
from .cooldown import active_cooldown, describe, start_cooldown
from .freshness import missing_trading_days, refresh_bar_summary
from .job import Job, ScheduleSpec
from .runs import Problem, RunRecorder, run_sync
from .sources import provider_for

Progress = Callable[[int, int, str], None]
COMPARED = ("end", "reason", "expected_resume")
# A backfill reads at most this many days of each security's gaps (a security missing years
# of bars is a listing problem, not a suspension to look up day by day).
GAP_DAYS_PER_SECURITY = 1000


@dataclass(frozen=True, slots=True)
class SuspensionOptions:
    """Which days' snapshots a run reads: today's by default, the given days, or a backfill of
    the days with unexplained gaps (since a day, if given)."""

    days: tuple[dt.date, ...] = ()
    backfill: bool = False
    since: dt.date | None = None

    @classmethod
    def from_parameters(cls, parameters: dict) -> SuspensionOptions:
        since = parameters.get("since")
        return cls(
            days=tuple(dt.date.fromisoformat(day) for day in parameters.get("days") or ()),
            backfill=bool(parameters.get("backfill")),
            since=dt.date.fromisoformat(since) if since else None,
        )

    def as_parameters(self) -> dict:
        values = {
            "days": [day.isoformat() for day in self.days],
            "backfill": self.backfill,
            "since": self.since.isoformat() if self.since else None,
        }
        return {key: value for key, value in values.items() if value}

    def chosen_days(self, today: dt.date) -> list[dt.date]:
        if self.days:
            return sorted(set(self.days))
        if self.backfill:
            return days_with_gaps(self.since)
        return [today]


def days_with_gaps(since: dt.date | None = None) -> list[dt.date]:
    """The trading days on which some security lacks a bar no stored suspension explains."""
    days: set[dt.date] = set()
    for security in StockInfo.objects.filter(missing_days__gt=0).order_by("pk"):
        days.update(missing_trading_days(security, limit=GAP_DAYS_PER_SECURITY))
    return sorted(day for day in days if since is None or day >= since)


def backfill_plan(options: SuspensionOptions, source: SuspensionSource | None = None) -> str:
    """What a run will ask, before it asks: the days and the least number of requests."""
    days = options.chosen_days(shanghai_now().date())
    if not days:
        return "no trading day holds an unexplained gap: nothing to read"
    return (
        f"{len(days)} day(s) to read ({days[0]} .. {days[-1]}): at least {len(days)} "
        "request(s), one a day, at the configured rate limit"
    )


def sync_suspensions(
    options: SuspensionOptions | None = None,
    *,
    run: SyncRun | None = None,
    trigger: str = SyncTrigger.COMMAND,
    source: SuspensionSource | None = None,
    progress: Progress | None = None,
) -> SyncRun:
    """Read the chosen days' snapshots, store the periods, count the gaps they explain."""
    options = options or SuspensionOptions()
    return run_sync(
        SyncKind.SUSPENSIONS,
        partial(sync_suspended, options=options, source=source),
        options.as_parameters(),
        run=run,
        trigger=trigger,
        progress=progress,
    )


def sync_suspended(
    recorder: RunRecorder, options: SuspensionOptions, *, source: SuspensionSource | None = None
) -> tuple[str, str]:
    """The suspension job's body: the run's status and summary."""
    source = source or provider_for(SuspensionSource)
    recorder.set_provider(source.name)
    progress = recorder.progress
    cooldown = active_cooldown(source.name)
    if cooldown is not None:
        recorder.record(Problem(describe(cooldown)))
        return SyncStatus.FAILED, f"not started: {describe(cooldown)}"
    days = options.chosen_days(shanghai_now().date())
    recorder.set_total(len(days))
    plan = backfill_plan(options) if options.backfill else ""
    failures, touched = [], set()
    for done, day in enumerate(days, start=1):
        if recorder.should_stop():
            return SyncStatus.CANCELLED, "cancelled on request"
        fetched = source.suspensions(day, on_page=recorder.stop_between_pages)
        recorder.record_rows(fetched.problems)
        created, updated, unchanged, ids = store_suspensions(fetched.suspensions, source.name)
        touched |= ids
        recorder.count(
            items_done=1,
            items_failed=int(fetched.error is not None),
            rows_fetched=len(fetched.suspensions) + len(fetched.problems),
            rows_created=created,
            rows_updated=updated,
            rows_unchanged=unchanged,
        )
        recorder.flush()
        if progress:
            progress(done, len(days), day.isoformat())
        if fetched.error is not None:
            failures.append(f"{day}: {fetched.error}")
            recorder.record(
                Problem(f"{day}: {fetched.error}", detail=getattr(fetched.error, "body", ""))
            )
            if isinstance(fetched.error, ProviderBlocked):
                start_cooldown(source.name, str(fetched.error))
                break
    refresh_bar_summary(touched)  # the gaps the stored periods explain
    notes = [note for note in (plan,) if note]
    if failures:
        status = SyncStatus.FAILED if len(failures) == len(days) else SyncStatus.PARTIAL
        return status, "; ".join([f"{len(failures)} of {len(days)} day(s) failed: {failures[0]}"])
    return SyncStatus.SUCCEEDED, "; ".join(notes)


def store_suspensions(
    records: Iterable[SuspensionRecord], provider: str
) -> tuple[int, int, int, set[int]]:
    """Insert new periods and update changed ones (an open period that got its end, say);
    rows of securities we do not hold are left out. (created, updated, unchanged, ids)."""
    records = list(records)
    held: dict[str, list[tuple[int, str]]] = {}
    codes = {record.code for record in records}
    for pk, code, exchange in StockInfo.objects.filter(code__in=codes).values_list(
        "pk", "code", "exchange"
    ):
        held.setdefault(code, []).append((pk, exchange))
    wanted: dict[tuple[int, dt.date], SuspensionRecord] = {}
    for record in records:
        candidates = held.get(record.code, [])
        if record.exchange:
            candidates = [entry for entry in candidates if entry[1] == record.exchange]
        if len(candidates) == 1:
            wanted[(candidates[0][0], record.start)] = record
    existing = {
        (row.security_id, row.start): row
        for row in Suspension.objects.filter(security_id__in={key[0] for key in wanted})
    }
    new, changed, unchanged = [], [], 0
    for (security_id, start), record in wanted.items():
        row = existing.get((security_id, start))
        values = {name: getattr(record, name) for name in COMPARED}
        if row is not None and record.end is None:
            values["end"] = row.end  # an older snapshot's open period: the known end stays
        if row is None:
            new.append(
                Suspension(
                    security_id=security_id,
                    start=start,
                    provider=provider,
                    source_row=record.row,
                    **values,
                )
            )
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.source_row = record.row
            row.updated_at = timezone.now()  # bulk_update does not touch auto_now fields
            changed.append(row)
        else:
            unchanged += 1
    with transaction.atomic():
        Suspension.objects.bulk_create(new)
        Suspension.objects.bulk_update(changed, [*COMPARED, "source_row", "updated_at"])
    touched = {row.security_id for row in [*new, *changed]}
    return len(new), len(changed), unchanged, touched


JOB = Job(
    kind=SyncKind.SUSPENSIONS,
    options=SuspensionOptions,
    run=sync_suspended,
    slug="suspensions",
    # Today's suspension snapshot after the close (suspensions announced during the day
    # included): the day's missing bars of suspended securities are explained at once.
    schedules=(ScheduleSpec("etfsync: suspensions (after the close)", "30 16 * * 1-5", {}),),
)
