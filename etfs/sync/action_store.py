"""Storing corporate actions: new events inserted, changed ones updated, every field bounded.

Events are facts: stored once per (security, ex-date, kind), updated (and counted) when the
source changes them, never deleted. A row beyond the limits of etfs/event_bounds.py, or two
rows of one event that disagree, is rejected with a message on the run (neither wins).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from etfs.event_bounds import event_problem
from etfs.models import CorporateAction, StockInfo, TradingDay
from etfs.providers.base import CorporateAction as ActionRecord

from .runs import Problem, RunRecorder, Severity

COMPARED = ("cash", "ratio", "rights_price", "record_date", "pay_date")


def ids_by_code(funds: bool, codes=()) -> dict[str, list[tuple[int, str]]]:
    """Code -> (security id, exchange) of the funds or the stocks we hold (delisted ones too:
    their history keeps its events), only ``codes`` when given."""
    securities = StockInfo.objects.filter(is_etf=funds)
    if codes:
        securities = securities.filter(code__in=codes)
    ids: dict[str, list[tuple[int, str]]] = {}
    for pk, code, exchange in securities.values_list("pk", "code", "exchange"):
        ids.setdefault(code, []).append((pk, exchange))
    return ids


def _security_of(action: ActionRecord, held: dict) -> tuple[int | None, bool]:
    """(security id, listed twice) of an event: by code, and by exchange when the source says."""
    candidates = held.get(action.code, [])
    if action.exchange:
        candidates = [entry for entry in candidates if entry[1] == action.exchange]
    if len(candidates) == 1:
        return candidates[0][0], False
    return None, len(candidates) > 1


def with_ex_dates(actions: Iterable[ActionRecord]) -> tuple[list[ActionRecord], list]:
    """A rights issue goes ex on the trading day after its record date: fill in the ex-dates
    the source left out; the events whose day the calendar cannot tell yet are returned apart."""
    ready, waiting = [], []
    for action in actions:
        if action.ex_date is not None:
            ready.append(action)
            continue
        day = (
            TradingDay.objects.open()
            .filter(date__gt=action.record_date)
            .order_by("date")
            .values_list("date", flat=True)
            .first()
        )
        if day is None:
            waiting.append(action)
        else:
            ready.append(dataclasses.replace(action, ex_date=day))
    return ready, waiting


@dataclass
class StoredActions:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    changed_securities: set[int] = field(default_factory=set)


def store_actions(
    actions: Iterable[ActionRecord],
    held: dict[str, list[tuple[int, str]]],
    recorder: RunRecorder,
    provider: str,
) -> StoredActions:
    """Insert new events and update changed ones; rows of securities we do not hold (or not
    in this job's universe) are skipped."""
    result = StoredActions()
    wanted: dict[tuple[int, dt.date, str], ActionRecord] = {}
    conflicting: set[tuple[int, dt.date, str]] = set()
    for action in actions:
        security_id, twice = _security_of(action, held)
        if security_id is None:
            result.skipped += 1
            if twice:
                recorder.record(
                    Problem.warning(
                        f"{action.code}: the code is listed on both exchanges; event of "
                        f"{action.ex_date} not stored",
                        code=action.code,
                    )
                )
            continue
        if problem := event_problem(action.cash, action.ratio, action.rights_price):
            _reject(recorder, action, security_id, problem)
            continue
        key = (security_id, action.ex_date, action.kind)
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
    recorder.record(
        Problem(
            f"{action.code} {action.ex_date}: {why}",
            Severity.REJECTED,
            code=action.code,
            detail=action.row,
            security_id=security_id,
        )
    )


def _new_row(key, action: ActionRecord, provider: str) -> CorporateAction:
    security_id, ex_date, kind = key
    return CorporateAction(
        security_id=security_id,
        ex_date=ex_date,
        kind=kind,
        cash=action.cash,
        ratio=action.ratio,
        rights_price=action.rights_price,
        record_date=action.record_date,
        pay_date=action.pay_date,
        provider=provider,
        source_row=action.row,
    )
