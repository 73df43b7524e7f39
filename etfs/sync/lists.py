"""The ETF list sync: the primary list decides what is listed; the exchanges' own lists fill
each fund's profile and are compared with it.

- Eastmoney (the primary list) has every live fund with the day's quote. A fund it no longer
  lists is marked delisted, but only when its whole list arrived.
- The SSE and SZSE lists give listing date, category, tracking index and manager. A fund only
  an exchange lists is added (listed, provider ``sse``/``szse``); a fund only the primary list
  has stays listed, flagged ``on_exchange_list=False``; each difference is a warning on the run.
- When the primary list is paused (a ban cooldown) or down, the exchange lists still add new
  funds and fill profiles; nothing is marked delisted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import ClassVar

from django.db import transaction
from django.utils import timezone

from etfs.models import Exchange, StockInfo, SyncKind, SyncRun, SyncStatus
from etfs.providers.base import (
    FundListSource,
    FundProfile,
    FundProfileSource,
    Listing,
    ProviderBlocked,
    RowProblem,
)

from .cooldown import active_cooldown, describe, start_cooldown
from .fund_rows import FundRow, mark_missing_delisted, mojibake_repair, screen, upsert_funds
from .job import Job, ScheduleSpec
from .list_reading import (
    delisting_held_back,
    ended_as_stopped,
    fetch_primary,
    read_until_stopped,
    record_differences,
    shortfall,
)
from .runs import LIST_DIFFERENCE, Problem, RunRecorder, Severity, run_sync
from .sources import provider_for, providers_for, record_passed_over, sources_in_order
from .universe import ETFS

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


@dataclass
class ListSources:
    """The lists one run reads: the primary one (or none) and the exchanges' own; a subclass
    names the capabilities of its universe's lists (StockListSources)."""

    primary: FundListSource | None
    exchange_lists: list[FundProfileSource] = field(default_factory=list)
    primary_capability: ClassVar[type] = FundListSource
    exchange_capability: ClassVar[type] = FundProfileSource

    @classmethod
    def configured(cls) -> ListSources:
        capability = cls.primary_capability
        primary = provider_for(capability) if sources_in_order(capability) else None
        return cls(primary, providers_for(cls.exchange_capability))


@dataclass
class PrimaryList:
    """What the primary list gave for this run, screened."""

    name: str = ""
    listings: list[Listing] = field(default_factory=list)
    # Codes of rows it rejected: those funds are still on its list, never delist them.
    rejected_codes: set[str] = field(default_factory=set)
    failure: str = ""  # why it gave nothing or not all: then nothing is delisted
    answered: bool = False
    row_problems: list[RowProblem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.answered and not self.failure

    def of(self, exchange: str) -> list[Listing]:
        return [listing for listing in self.listings if listing.exchange == exchange]


@dataclass
class ExchangeList:
    name: str
    profiles: dict[str, FundProfile] = field(default_factory=dict)
    failure: str = ""


def normalise_exchanges(exchanges: Iterable[str] | None) -> list[str]:
    chosen = sorted({exchange.upper() for exchange in exchanges or Exchange.values})
    unknown = [exchange for exchange in chosen if exchange not in Exchange.values]
    if unknown:
        raise ValueError(
            f"unknown exchange {', '.join(unknown)}; choose from {', '.join(Exchange.values)}"
        )
    return chosen


def sync_etf_lists(
    *,
    exchanges: Iterable[str] | None = None,
    run: SyncRun | None = None,
    trigger: str = "command",
    sources: ListSources | None = None,
    progress: Progress | None = None,
) -> SyncRun:
    """Bring StockInfo's ETF rows in line with the fund lists; return the finished run.

    ``sources`` are the lists to read (the configured ones when not given).
    """
    options = ListOptions(tuple(exchanges or Exchange.values))
    return run_sync(
        SyncKind.ETF_LISTS,
        partial(sync_lists, options=options, sources=sources),
        options.as_parameters(),
        run=run,
        trigger=trigger,
        progress=progress,
    )


@dataclass(frozen=True, slots=True)
class ListOptions:
    """Which exchanges' funds a list run covers (both by default); the run's parameters."""

    exchanges: tuple[str, ...] = tuple(sorted(Exchange.values))

    def __post_init__(self):
        object.__setattr__(self, "exchanges", tuple(normalise_exchanges(self.exchanges)))

    @classmethod
    def from_parameters(cls, parameters: dict) -> ListOptions:
        return cls(tuple(parameters.get("exchanges") or Exchange.values))

    def as_parameters(self) -> dict:
        return {"exchanges": list(self.exchanges)}


def sync_lists(
    recorder: RunRecorder, options: ListOptions, *, sources: ListSources | None = None
) -> tuple[str, str]:
    """The list job's body: the run's status and summary."""
    exchanges, progress = list(options.exchanges), recorder.progress
    recorder.set_total(len(exchanges))
    sources = sources or ListSources.configured()
    if sources.primary is not None:
        record_passed_over(recorder, sources.primary, "the fund list")
    primary = _read_primary(recorder, sources.primary, exchanges, progress)
    exchange_lists = read_until_stopped(
        recorder, _read_exchange_list, sources.exchange_lists, exchanges
    )
    if recorder.stopped and primary.complete:  # stopped while the exchanges' lists were read
        primary.failure = "the exchanges' lists were not all read"
    answered = [primary.name] * primary.answered + [
        found.name for found in exchange_lists.values() if not found.failure
    ]
    recorder.set_provider(",".join(answered))
    # The primary list decides what is listed: its trouble makes the run partial. An exchange
    # list that failed costs profiles and the comparison only: a note, the run succeeds.
    problems = [primary.failure] if primary.failure else []
    notes = [found.failure for found in exchange_lists.values() if found.failure]
    if not answered:
        return SyncStatus.FAILED, "; ".join(problems + notes) or "no fund list is configured"
    now = timezone.now()
    for exchange in exchanges:
        reason = _sync_exchange(recorder, exchange, primary, exchange_lists.get(exchange), now)
        if reason:
            problems.append(reason)
    notes = row_notes(primary.row_problems) + notes
    if not primary.complete:
        notes.append("nothing marked delisted")
    summary = "; ".join(problems + notes)
    if recorder.stopped:
        return ended_as_stopped(recorder, summary)
    return SyncStatus.PARTIAL if problems else SyncStatus.SUCCEEDED, summary


def row_notes(problems: list[RowProblem]) -> list[str]:
    """What the summary says of the list's rows: how many were rejected and how many kept with
    a warning (a bad optional field), each with the first reason."""
    notes = []
    for fatal, what in ((True, "rejected"), (False, "kept with a warning")):
        found = [problem for problem in problems if problem.fatal == fatal]
        if found:
            notes.append(f"{len(found)} list row(s) {what}, first: {found[0].message}")
    return notes


def _read_primary(recorder, source: FundListSource | None, exchanges, progress) -> PrimaryList:
    """Fetch and screen the primary list, unless it is paused; failures are recorded."""
    if source is None:
        return PrimaryList()
    result = PrimaryList(name=source.name)
    fetched, result.failure = fetch_primary(
        recorder, source, source.fund_list, progress, "list page"
    )
    if fetched is None:
        return result
    listings, problems = screen(
        [item for item in fetched.listings if item.exchange in exchanges], source.name
    )
    problems = fetched.problems + problems
    recorder.record_rows(problems)
    result.listings = listings
    result.rejected_codes = {problem.code for problem in problems if problem.code}
    result.row_problems = problems
    result.answered = bool(fetched.listings) or fetched.error is None
    if fetched.error is not None:
        recorder.record(Problem.of_error(fetched.error))
        result.failure = (
            f"the list stopped after {fetched.pages} page(s): {fetched.error}"
            if fetched.pages
            else f"could not fetch the ETF list: {fetched.error}"
        )
    else:
        result.failure = shortfall(fetched, "funds")
    return result


def without_mojibake_renames(recorder, exchange: str, rows: list[FundRow]) -> list[FundRow]:
    """Keep a stored name that the list would change only into mojibake (UTF-8 bytes read in
    a Latin charset), with a warning: a wrongly decoded answer never renames a fund."""
    renamed = {row.code: row.name for row in rows if row.name and mojibake_repair(row.name)}
    if not renamed:
        return rows
    stored = dict(
        StockInfo.objects.filter(exchange=exchange, code__in=renamed).values_list("code", "name")
    )
    kept = []
    for row in rows:
        old = stored.get(row.code)
        if row.code in renamed and old and old != row.name:
            recorder.record(
                Problem.warning(
                    f"{exchange} {row.code}: the list names it {row.name!r}, which reads as "
                    f"mojibake of {mojibake_repair(row.name)!r}; the stored name {old!r} is kept",
                    code=row.code,
                )
            )
            row = replace(row, name="")
        kept.append(row)
    return kept


def _read_exchange_list(recorder, source: FundProfileSource) -> ExchangeList:
    """Fetch and screen one exchange's own list; a failure is a warning on the run."""
    result = ExchangeList(name=source.name)
    cooldown = active_cooldown(source.name)
    if cooldown is not None:
        result.failure = f"{source.name} list not asked: {describe(cooldown)}"
    else:
        fetched = source.fund_profiles(on_page=recorder.stop_between_pages)
        if isinstance(fetched.error, ProviderBlocked):
            start_cooldown(source.name, str(fetched.error))
        if fetched.error is not None:
            result.failure = f"could not read the {source.name.upper()} list: {fetched.error}"
        else:
            profiles, problems = screen(fetched.profiles, source.name)
            problems = fetched.problems + problems
            recorder.record_rows(problems)
            result.profiles = {profile.code: profile for profile in profiles}
    if result.failure:
        recorder.record(Problem.warning(result.failure))
    return result


def _sync_exchange(
    recorder, exchange: str, primary: PrimaryList, own: ExchangeList | None, now
) -> str:
    """Merge, upsert and (when the primary list is whole) delist one exchange's funds."""
    listings = primary.of(exchange)
    rows = without_mojibake_renames(recorder, exchange, merge_rows(listings, primary, own))
    if primary.complete and own is not None and not own.failure:
        primary_codes = {item.code for item in listings}
        record_differences(
            recorder,
            (primary.name, primary_codes, primary.rejected_codes),
            (own.name, set(own.profiles)),
        )
    with transaction.atomic():
        listed_before = ETFS.securities(exchange).count()
        created, updated, unchanged = upsert_funds(exchange, rows, now)
        reason, delisted = "", 0
        if primary.complete:
            reason = delisting_held_back(exchange, len(listings), listed_before, "funds")
            if not reason:
                keep = {row.code for row in rows} | primary.rejected_codes
                delisted = mark_missing_delisted(exchange, keep, now)
        recorder.count(
            items_done=1,
            rows_fetched=len(rows),
            rows_created=created,
            rows_updated=updated,
            rows_unchanged=unchanged,
            rows_delisted=delisted,
        )
        recorder.flush()
    logger.info(
        "%s: %d created, %d updated, %d unchanged, %d delisted",
        exchange,
        created,
        updated,
        unchanged,
        delisted,
    )
    return reason


def merge_rows(listings: list[Listing], primary: PrimaryList, own: ExchangeList | None):
    """One row per fund that either list names: the primary's name, the exchange's profile."""
    profiles = own.profiles if own is not None and not own.failure else None
    rows = [
        FundRow(
            code=item.code,
            name=item.name,
            provider=primary.name,
            profile=profiles.get(item.code) if profiles is not None else None,
            on_exchange_list=(item.code in profiles) if profiles is not None else None,
        )
        for item in listings
    ]
    named = {item.code for item in listings}
    for code, profile in sorted((profiles or {}).items()):
        if code not in named:
            rows.append(FundRow(code, "", own.name, profile, on_exchange_list=True))
    return rows


def latest_list_differences() -> tuple[SyncRun | None, list[str]]:
    """The last finished list run and the differences it found between the lists."""
    run = (
        SyncRun.objects.filter(kind=SyncKind.ETF_LISTS, parent=None, finished_at__isnull=False)
        .order_by("-finished_at")
        .first()
    )
    if run is None:
        return None, []
    differences = run.errors.filter(severity=Severity.WARNING, code=LIST_DIFFERENCE)
    return run, list(differences.values_list("message", flat=True))


JOB = Job(
    kind=SyncKind.ETF_LISTS,
    options=ListOptions,
    run=sync_lists,
    button="Sync ETF lists",
    slug="lists",
    schedules=(ScheduleSpec("etfsync: ETF lists (trading-day mornings)", "0 8 * * 1-5"),),
    universe=ETFS,
)
