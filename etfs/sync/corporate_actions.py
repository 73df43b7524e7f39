"""The corporate-action sync: the funds' dividend and split lists and the stocks' dividend,
bonus-share and rights-issue reports, for the securities we hold.

Every configured corporate-action source is read, each for its own universe (a fund list never
touches a stock row, nor the reverse; a source whose universe we do not hold is not asked).
Events are stored by sync/action_store.py; the securities whose events changed get their
adjustment factors recomputed (sync/factors.py); no bar is rewritten.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from etfs.models import StockInfo, SyncKind, SyncRun, SyncStatus, SyncTrigger
from etfs.providers.base import (
    CorporateActionSource,
    EventLists,
    ProviderBlocked,
    StockActionSource,
)

from .action_store import StoredActions, ids_by_code, store_actions, with_ex_dates
from .calendar import shanghai_now
from .cooldown import active_cooldown, describe, start_cooldown
from .crosscheck import cross_check_adjusted_closes
from .factors import recompute_factors
from .job import Job, ScheduleSpec
from .runs import Problem, RunRecorder, RunStopped, run_sync
from .sources import provider_for, record_passed_over, sources_in_order

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class ActionOptions:
    """Which years' lists a run reads (or which securities' events); stored on the run as its
    parameters."""

    years: tuple[int, ...] = ()
    cross_check: bool = False
    codes: tuple[str, ...] = ()

    @classmethod
    def from_parameters(cls, parameters: dict) -> ActionOptions:
        return cls(
            years=tuple(parameters.get("years") or ()),
            cross_check=bool(parameters.get("cross_check")),
            codes=tuple(parameters.get("codes") or ()),
        )

    def as_parameters(self) -> dict:
        values = {
            "years": list(self.years),
            "cross_check": self.cross_check,
            "codes": list(self.codes),
        }
        return {key: value for key, value in values.items() if value}

    def chosen_years(self, today: dt.date) -> list[int]:
        """The years asked for; by default last year and this one (late lists, re-dated rows)."""
        return sorted(set(self.years)) or [today.year - 1, today.year]


def action_sources() -> list[EventLists]:
    """The source of the funds' events and the source of the stocks' events, each the first
    of its capability not in a ban cooldown (either may be left out of the configuration)."""
    capabilities = (CorporateActionSource, StockActionSource)
    return [provider_for(each) for each in capabilities if sources_in_order(each)]


def first_year() -> int:
    """The first year the configured sources' lists cover."""
    return min((source.first_year for source in action_sources()), default=1999)


def all_years(today: dt.date) -> tuple[int, ...]:
    return tuple(range(first_year(), today.year + 1))


def sync_corporate_actions(
    options: ActionOptions | None = None,
    *,
    run: SyncRun | None = None,
    trigger: str = SyncTrigger.COMMAND,
    source: CorporateActionSource | None = None,
    progress: Progress | None = None,
) -> SyncRun:
    """Fetch the lists of the chosen years (or the chosen securities' events), store the
    events of the securities we hold, update their factors."""
    options = options or ActionOptions()
    return run_sync(
        SyncKind.CORPORATE_ACTIONS,
        partial(sync_actions, options=options, source=source),
        options.as_parameters(),
        run=run,
        trigger=trigger,
        progress=progress,
    )


def sync_actions(
    recorder: RunRecorder,
    options: ActionOptions,
    *,
    source: CorporateActionSource | None = None,
) -> tuple[str, str]:
    """The corporate-action job's body: the run's status and summary."""
    sources = [source] if source else action_sources()
    recorder.set_provider(",".join(each.name for each in sources))
    for each in sources:
        record_passed_over(recorder, each, "corporate actions")
    return _sync(recorder, options, sources, recorder.progress)


@dataclass(frozen=True, slots=True)
class Item:
    """One request series: a list of a year, or one security's events of a list."""

    source: CorporateActionSource
    list_kind: int
    year: int | None
    code: str
    what: str

    def fetch(self, on_page):
        if self.code and self.source.by_security:
            return self.source.security_actions(self.list_kind, self.code, on_page=on_page)
        return self.source.corporate_actions(self.list_kind, self.year, on_page=on_page)


def plan_items(options: ActionOptions, sources, today: dt.date) -> tuple[list[Item], list[str]]:
    """The lists to read, source by source; a source whose universe we do not hold (or that
    is cooling down after a ban) is not asked, and the notes say so."""
    items, notes = [], []
    for source in sources:
        if not ids_by_code(source.lists_funds, options.codes):
            continue  # none of its universe held: nothing to ask it
        if (cooldown := active_cooldown(source.name)) is not None:
            notes.append(f"{source.name} not asked: {describe(cooldown)}")
            continue
        for list_kind, name in source.lists:
            if options.codes and source.by_security:
                items += [Item(source, list_kind, None, c, f"{name} {c}") for c in options.codes]
            else:
                years = options.chosen_years(today)
                items += [Item(source, list_kind, y, "", f"{name} {y}") for y in years]
    return items, notes


def _sync(recorder: RunRecorder, options: ActionOptions, sources, progress) -> tuple[str, str]:
    items, notes = plan_items(options, sources, shanghai_now().date())
    if not items:
        if notes:  # every source that has securities to ask about is cooling down
            recorder.record(Problem("; ".join(notes)))
            return SyncStatus.FAILED, f"not started: {'; '.join(notes)}"
        return SyncStatus.SUCCEEDED, "no securities held that a corporate-action source lists"
    recorder.set_total(len(items))
    held = {funds: ids_by_code(funds, options.codes) for funds in (True, False)}
    failures, plans, changed, cancelled = [], 0, set(), False
    skipped = {True: 0, False: 0}  # rows of securities we do not hold, funds' and stocks'

    banned: set[str] = set()
    for done, item in enumerate(items, start=1):
        if recorder.should_stop():
            cancelled = True
            break
        if item.source.name in banned:
            continue
        try:
            fetched = item.fetch(on_page=recorder.stop_between_pages)
        except RunStopped:
            cancelled = True
            break
        stored = _store_list(recorder, fetched, held[item.source.lists_funds], item.source.name)
        skipped[item.source.lists_funds] += stored.skipped
        plans += fetched.plans
        changed |= stored.changed_securities
        if progress:
            progress(done, len(items), item.what)
        if fetched.error is not None:
            failures.append(f"{item.what}: {fetched.error}")
            recorder.record(
                Problem(f"{item.what}: {fetched.error}", detail=getattr(fetched.error, "body", ""))
            )
            if isinstance(fetched.error, ProviderBlocked):
                start_cooldown(item.source.name, str(fetched.error))
                banned.add(item.source.name)
    _update_factors(recorder, changed)  # what was stored counts, even if the run stops here
    if cancelled:
        return SyncStatus.CANCELLED, "cancelled on request"
    if options.cross_check and not failures:
        for source in sources:
            cooldown = active_cooldown(source.kline_source_name)
            cross_check_adjusted_closes(recorder, source, cooldown)
    if plans:
        notes.append(f"{plans} plan(s) without an ex-date not applied")
    return _outcome(failures, len(items), recorder.totals["items_done"], skipped, notes)


def _store_list(recorder: RunRecorder, fetched, held, provider: str) -> StoredActions:
    """Store one list's events (the good part of a list that failed midway too) and count."""
    recorder.record_rows(fetched.problems)
    ready, waiting = with_ex_dates(fetched.actions)
    recorder.record(
        *(
            Problem.warning(
                f"{action.code}: rights issue recorded {action.record_date}: the calendar "
                "does not know its ex-date (the next trading day) yet; not stored",
                code=action.code,
                detail=action.row,
            )
            for action in waiting
        )
    )
    stored = store_actions(ready, held, recorder, provider)
    recorder.count(
        items_done=1,
        items_failed=int(fetched.error is not None),
        rows_fetched=len(fetched.actions) + len(fetched.problems),
        rows_created=stored.created,
        rows_updated=stored.updated,
        rows_unchanged=stored.unchanged,
    )
    recorder.flush()
    return stored


def _outcome(
    failures: list[str], items: int, done: int, skipped: dict, notes: list[str]
) -> tuple[str, str]:
    """Failed when no list came through (a ban stops the rest), partial when some did."""
    notes = [*notes]
    if skipped[False]:
        notes.insert(0, f"{skipped[False]} row(s) of stocks we do not hold skipped")
    if skipped[True]:
        notes.insert(0, f"{skipped[True]} row(s) of funds that are not ETFs we hold skipped")
    if failures:
        status = SyncStatus.FAILED if len(failures) == done else SyncStatus.PARTIAL
        summary = f"{len(failures)} of {items} list(s) failed"
        if done < items:
            summary += f", {items - done} not asked"
        return status, "; ".join([f"{summary}: {failures[0]}", *notes])
    return SyncStatus.SUCCEEDED, "; ".join(notes)


def _update_factors(recorder: RunRecorder, security_ids: set[int]) -> None:
    update = recompute_factors(security_ids)
    codes = dict(
        StockInfo.objects.filter(pk__in=[sid for sid, _ in update.problems]).values_list(
            "pk", "code"
        )
    )
    recorder.record(
        *(
            Problem.warning(
                f"{codes.get(sid, sid)} {problem}", code=codes.get(sid, ""), security_id=sid
            )
            for sid, problem in update.problems
        )
    )


JOB = Job(
    kind=SyncKind.CORPORATE_ACTIONS,
    options=ActionOptions,
    run=sync_actions,
    button="Sync corporate actions",
    slug="corporate-actions",
    schedules=(
        # Events of last year and this one, and the cross-check against the source's adjusted
        # k-lines. Weekly is enough most of the year: an event listed late is still caught
        # before anyone reads a week of bars across it.
        ScheduleSpec(
            "etfsync: corporate actions and cross-check (Saturdays)",
            "0 10 * * 6",
            {"cross_check": True},
            trading_days_only=False,
        ),
        # Most ETF distributions fall in November to January (510050: every ex-date since
        # 2012), when a daily pass after the close (about 130 list pages) keeps factors current.
        ScheduleSpec(
            "etfsync: corporate actions (daily, November to January)", "0 18 * 11,12,1 1-5"
        ),
    ),
)
