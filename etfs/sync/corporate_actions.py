"""The corporate-action sync: the market's fund dividend and split lists, for the ETFs we hold.

Events are facts: stored once per (fund, ex-date, kind), updated (and counted) when the source
changes them, never deleted. The funds whose events changed get their adjustment factors
recomputed (sync/factors.py); no bar is rewritten.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from etfs.event_bounds import event_problem
from etfs.models import (
    CorporateAction,
    StockInfo,
    SyncKind,
    SyncRun,
    SyncRunError,
    SyncStatus,
    SyncTrigger,
)
from etfs.providers.base import CorporateAction as ActionRecord
from etfs.providers.base import CorporateActionSource, ProviderBlocked

from .calendar import shanghai_now
from .cooldown import active_cooldown, describe, start_cooldown
from .crosscheck import cross_check_adjusted_closes
from .factors import recompute_factors
from .runs import RunRecorder, run_sync
from .sources import provider_for, record_passed_over

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
COMPARED = ("cash", "ratio", "record_date", "pay_date")


@dataclass(frozen=True, slots=True)
class ActionOptions:
    """Which years' lists a run reads; stored on the run as its parameters."""

    years: tuple[int, ...] = ()
    cross_check: bool = False

    @classmethod
    def from_parameters(cls, parameters: dict) -> ActionOptions:
        return cls(
            years=tuple(parameters.get("years") or ()),
            cross_check=bool(parameters.get("cross_check")),
        )

    def as_parameters(self) -> dict:
        values = {"years": list(self.years), "cross_check": self.cross_check}
        return {key: value for key, value in values.items() if value}

    def chosen_years(self, today: dt.date) -> list[int]:
        """The years asked for; by default last year and this one (late lists, re-dated rows)."""
        return sorted(set(self.years)) or [today.year - 1, today.year]


def first_year() -> int:
    """The first year the configured source's lists cover."""
    return provider_for(CorporateActionSource).first_year


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
    """Fetch the lists of the chosen years, store the ETFs' events, update their factors."""
    options = options or ActionOptions()

    def body(recorder: RunRecorder) -> tuple[str, str]:
        action_source = source or provider_for(CorporateActionSource)
        recorder.set_provider(action_source.name)
        record_passed_over(recorder, action_source, "corporate actions")
        return _sync(recorder, options, action_source, progress)

    return run_sync(
        SyncKind.CORPORATE_ACTIONS, body, options.as_parameters(), run=run, trigger=trigger
    )


def _sync(
    recorder: RunRecorder, options: ActionOptions, source: CorporateActionSource, progress
) -> tuple[str, str]:
    cooldown = active_cooldown(source.name)
    if cooldown is not None:
        recorder.problem(describe(cooldown))
        return SyncStatus.FAILED, f"not started: {describe(cooldown)}"
    items = [
        (year, list_kind, f"{name} {year}")
        for year in options.chosen_years(shanghai_now().date())
        for list_kind, name in source.lists
    ]
    recorder.set_total(len(items))
    etfs = etf_ids_by_code()
    failures, skipped, changed, cancelled = [], 0, set(), False
    for done, (year, list_kind, what) in enumerate(items, start=1):
        if recorder.beat():
            cancelled = True
            break
        fetched = source.corporate_actions(list_kind, year, on_page=lambda *_: recorder.beat())
        stored = _store_list(recorder, fetched, etfs, source.name)
        skipped += stored.skipped
        changed |= stored.changed_securities
        if progress:
            progress(done, len(items), what)
        if fetched.error is not None:
            failures.append(f"{what}: {fetched.error}")
            recorder.problem(
                f"{what}: {fetched.error}", detail=getattr(fetched.error, "body", "") or ""
            )
            if isinstance(fetched.error, ProviderBlocked):
                start_cooldown(source.name, str(fetched.error))
                break
    _update_factors(recorder, changed)  # what was stored counts, even if the run stops here
    if cancelled:
        return SyncStatus.CANCELLED, "cancelled on request"
    if options.cross_check and not failures:
        cross_check_adjusted_closes(recorder, source, active_cooldown(source.kline_source_name))
    return _outcome(failures, len(items), recorder.totals["items_done"], skipped)


def _store_list(recorder: RunRecorder, fetched, etfs, provider: str) -> StoredActions:
    """Store one list's events (the good part of a list that failed midway too) and count."""
    recorder.row_problems(fetched.problems)
    stored = store_actions(fetched.actions, etfs, recorder, provider)
    recorder.add(
        items_done=1,
        items_failed=int(fetched.error is not None),
        rows_fetched=len(fetched.actions) + len(fetched.problems),
        rows_created=stored.created,
        rows_updated=stored.updated,
        rows_unchanged=stored.unchanged,
        rows_rejected=len(fetched.problems),
    )
    return stored


def _outcome(failures: list[str], items: int, done: int, skipped: int) -> tuple[str, str]:
    """Failed when no list came through (a ban stops the rest), partial when some did."""
    notes = [f"{skipped} row(s) of funds that are not ETFs we hold skipped"] if skipped else []
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
    recorder.problems(
        [
            (f"{codes.get(sid, sid)} {problem}", codes.get(sid, ""), "warning", "", sid)
            for sid, problem in update.problems
        ]
    )
    recorder.add(warnings=len(update.problems))


def etf_ids_by_code() -> dict[str, list[int]]:
    """ETF code -> security ids (delisted ones too: their history keeps its events)."""
    ids: dict[str, list[int]] = {}
    for pk, code in StockInfo.objects.etfs(include_delisted=True).values_list("pk", "code"):
        ids.setdefault(code, []).append(pk)
    return ids


@dataclass
class StoredActions:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    changed_securities: set[int] = field(default_factory=set)


def store_actions(
    actions: Iterable[ActionRecord],
    etfs: dict[str, list[int]],
    recorder: RunRecorder,
    provider: str,
) -> StoredActions:
    """Insert new events and update changed ones; rows of funds we do not hold are skipped."""
    result = StoredActions()
    wanted: dict[tuple[int, dt.date, str], ActionRecord] = {}
    conflicting: set[tuple[int, dt.date, str]] = set()
    for action in actions:
        ids = etfs.get(action.code, [])
        if len(ids) != 1:
            result.skipped += 1
            if len(ids) > 1:
                recorder.problem(
                    f"{action.code}: the code is listed on both exchanges; event of "
                    f"{action.ex_date} not stored",
                    code=action.code,
                    severity="warning",
                )
            continue
        if problem := event_problem(action.cash, action.ratio, action.rights_price):
            _reject(recorder, action, ids[0], problem)
            continue
        key = (ids[0], action.ex_date, action.kind)
        seen = wanted.get(key)
        if seen is not None and _values(seen) != _values(action):
            conflicting.add(key)
        wanted.setdefault(key, action)
    for key in conflicting:
        # Two rows for one event that disagree: neither is taken over the other.
        action = wanted.pop(key)
        _reject(
            recorder,
            action,
            key[0],
            f"{action.kind} event listed more than once with different values; the stored "
            "event (if any) is kept",
        )
    if not wanted:
        return result
    existing = {
        (row.security_id, row.ex_date, row.kind): row
        for row in CorporateAction.objects.filter(security_id__in={key[0] for key in wanted})
    }
    new, changed = [], []
    for key, action in wanted.items():
        row = existing.get(key)
        values = _values(action)
        if row is None:
            new.append(_new_row(key, action, provider))
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.source_row = action.row
            row.updated_at = timezone.now()  # bulk_update does not touch auto_now fields
            changed.append(row)
        else:
            result.unchanged += 1
            continue
        result.changed_securities.add(key[0])
    with transaction.atomic():
        CorporateAction.objects.bulk_create(new, batch_size=500)
        CorporateAction.objects.bulk_update(
            changed, [*COMPARED, "source_row", "updated_at"], batch_size=500
        )
    result.created, result.updated = len(new), len(changed)
    return result


def _values(action: ActionRecord) -> dict:
    return {name: getattr(action, name) for name in COMPARED}


def _reject(recorder: RunRecorder, action: ActionRecord, security_id: int, why: str) -> None:
    recorder.problem(
        f"{action.code} {action.ex_date}: {why}",
        code=action.code,
        severity=SyncRunError.Severity.REJECTED,
        detail=action.row,
        security_id=security_id,
    )
    recorder.add(rows_rejected=1)


def _new_row(key, action: ActionRecord, provider: str) -> CorporateAction:
    security_id, ex_date, kind = key
    return CorporateAction(
        security_id=security_id,
        ex_date=ex_date,
        kind=kind,
        cash=action.cash,
        ratio=action.ratio,
        record_date=action.record_date,
        pay_date=action.pay_date,
        provider=provider,
        source_row=action.row,
    )
