"""Keep each fund's piecewise adjustment factors in line with its events and stored closes.

A fund's factors depend on its corporate actions and on the close before each ex-date
(etfs/adjustment.py), so they are recomputed when either changes: after a corporate-action
sync for the funds whose events changed, and after a price batch for the funds whose bars
before an ex-date arrived. Only ``AdjustmentFactor`` rows are written; no ``DailyBar`` row
is, so compressed TimescaleDB chunks stay as they are.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import OuterRef, Subquery

from etfs.adjustment import combine_events, factor_rows
from etfs.models import AdjustmentFactor, CorporateAction, DailyBar

FACTOR_FIELDS = (
    "ex_date",
    "valid_until",
    "previous_close",
    "cash",
    "ratio",
    "step",
    "hfq_factor",
    "split_factor",
)


@dataclass
class FactorUpdate:
    """Which funds' factors changed, and the events that could not be priced."""

    changed: set[int] = field(default_factory=set)
    problems: list[tuple[int, str]] = field(default_factory=list)


def recompute_factors(security_ids: Iterable[int]) -> FactorUpdate:
    """Recompute the factors of these funds; rewrite a fund's rows only where they differ."""
    ids = sorted(set(security_ids))
    update = FactorUpdate()
    if not ids:
        return update
    events = defaultdict(list)
    closes: dict[tuple[int, dt.date], object] = {}
    close_before = (
        DailyBar.objects.filter(
            security_id=OuterRef("security_id"), trade_date__lt=OuterRef("ex_date")
        )
        .order_by("-trade_date")
        .values("close")[:1]
    )
    # One query: every event with the stored close before its ex-date (an index probe each).
    rows = (
        CorporateAction.objects.filter(security_id__in=ids)
        .annotate(previous_close=Subquery(close_before))
        .values_list(
            "security_id", "ex_date", "cash", "ratio", "kind", "rights_price", "previous_close"
        )
    )
    for security_id, ex_date, cash, ratio, kind, rights_price, previous_close in rows:
        events[security_id].append((ex_date, cash, ratio, kind, rights_price))
        closes[(security_id, ex_date)] = previous_close
    stored = defaultdict(list)
    for row in AdjustmentFactor.objects.filter(security_id__in=ids).order_by("ex_date"):
        stored[row.security_id].append(tuple(getattr(row, name) for name in FACTOR_FIELDS))
    for security_id in ids:
        try:
            computed, problems = factor_rows(
                combine_events(events.get(security_id, [])),
                lambda day, security_id=security_id: closes.get((security_id, day)),
            )
        except (ArithmeticError, ValueError) as exc:
            # One security's events never stop the others' factors (or the run).
            update.problems.append((security_id, f"factors not computed: {exc}"))
            continue
        update.problems.extend((security_id, problem) for problem in problems)
        wanted = [tuple(getattr(row, name) for name in FACTOR_FIELDS) for row in computed]
        if wanted != stored.get(security_id, []):
            _replace(security_id, computed)
            update.changed.add(security_id)
    return update


def _replace(security_id: int, computed) -> None:
    with transaction.atomic():
        AdjustmentFactor.objects.filter(security_id=security_id).delete()
        AdjustmentFactor.objects.bulk_create(
            AdjustmentFactor(
                security_id=security_id, **{name: getattr(row, name) for name in FACTOR_FIELDS}
            )
            for row in computed
        )


def funds_needing_factors(
    batch: Iterable[tuple[int, dt.date]], events: Iterable[tuple[int, dt.date]] | None = None
) -> set[int]:
    """Funds of a price batch ((security id, trade date) pairs) with a bar before one of
    their ex-dates: the close a factor is priced against may have arrived or changed.

    ``events`` are the funds' (security id, ex-date) pairs, read here when not given.
    """
    first_day: dict[int, dt.date] = {}
    for security_id, day in batch:
        first_day[security_id] = min(day, first_day.get(security_id, day))
    if not first_day:
        return set()
    if events is None:
        events = CorporateAction.objects.filter(security_id__in=first_day).values_list(
            "security_id", "ex_date"
        )
    return {
        security_id
        for security_id, ex_date in events
        if security_id in first_day and first_day[security_id] < ex_date
    }
