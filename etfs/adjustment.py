"""Adjustment factors from corporate actions, and adjusted prices computed at read time.

The convention (Tushare's ``adj_factor``, "dividends reinvested"): on an ex-date with cash
``c`` per unit and ``r`` units after per unit before, the exchange's ex-rights reference price
of the previous close ``P`` is ``(P - c) / r``, and the backward (hfq) step is
``P / ((P - c) / r)``. A day's cumulative factor is the product of the steps on or before it
(1 before the first event); it never goes negative, unlike the source's own forward series.

- backward (``hfq``): price x the day's factor (the first day keeps its raw price);
- forward (``qfq``): price x the day's factor / the latest factor (today keeps its raw price);
- volume: divided by the day's cumulative ratio (hfq), or scaled to today's units (qfq), so
  splits and conversions are adjusted but cash is not; whole shares, rounded half up.
- "today" for qfq is the market's date when the query is built: a factor whose ex-date is
  still to come is stored already but anchors nothing until its day.

Factors are stored piecewise (``AdjustmentFactor``, one row per security and ex-date) and
joined to the bars by the query that reads them (etfs/adjusted_bars.py); no bar is ever
rewritten.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

from django.utils import timezone

from etfs.event_bounds import MAX_CUMULATIVE, MAX_STEP, MIN_CUMULATIVE
from etfs.market import SHANGHAI

MODES = ("none", "qfq", "hfq")
# Stored factors: 20 places (AdjustmentFactor columns); adjusted values: 4 places.
FACTOR_PLACES = Decimal("1e-20")
OUTPUT_PLACES = Decimal("0.0001")
# The places of the cash and ratio columns (CorporateAction, AdjustmentFactor).
CASH_PLACES = Decimal("1e-8")
RATIO_PLACES = Decimal("1e-10")
PRECISION = 50
PRICES = ("open", "high", "low", "close")
ONE = Decimal(1)


# Kinds whose new shares add up (the exchanges' formula: 1 + bonus + capitalisation + rights),
# where splits and conversions multiply.
ADDED_SHARES = ("bonus", "capitalisation", "rights")


@dataclass(frozen=True, slots=True)
class EventDay:
    """All events of one security on one ex-date, combined.

    ``cash`` is the total per unit; ``ratio`` the product of split and conversion ratios;
    ``added`` the bonus, capitalisation and rights shares per share held (they add up);
    ``rights_value`` what the rights cost per share held (rights price x rights per share).
    """

    ex_date: dt.date
    cash: Decimal = Decimal(0)
    ratio: Decimal = ONE
    added: Decimal = Decimal(0)
    rights_value: Decimal = Decimal(0)

    @property
    def units(self) -> Decimal:
        """Units after per unit before, all events of the day together."""
        with localcontext(prec=PRECISION):
            return self.ratio * (1 + self.added)


@dataclass(frozen=True, slots=True)
class FactorRow:
    ex_date: dt.date
    valid_until: dt.date | None
    previous_close: Decimal | None
    cash: Decimal
    ratio: Decimal
    step: Decimal
    hfq_factor: Decimal
    split_factor: Decimal


def combine_events(events: Iterable[tuple]) -> list[EventDay]:
    """(ex_date, cash, ratio[, kind, rights_price]) events -> one EventDay per ex-date, in
    date order. ``ratio`` is units after per unit before for every kind: a bonus of 3 shares
    per 10 is 1.3, a rights issue of 3 per 10 is 1.3 with its price."""
    days: dict[dt.date, EventDay] = {}
    for ex_date, cash, ratio, *rest in events:
        kind = rest[0] if rest else ""
        rights_price = rest[1] if len(rest) > 1 and rest[1] else Decimal(0)
        seen = days.get(ex_date, EventDay(ex_date))
        with localcontext(prec=PRECISION):
            if kind in ADDED_SHARES:
                shares = ratio - 1
                days[ex_date] = EventDay(
                    ex_date,
                    seen.cash + cash,
                    seen.ratio,
                    seen.added + shares,
                    seen.rights_value + rights_price * shares,
                )
            else:
                days[ex_date] = EventDay(
                    ex_date, seen.cash + cash, seen.ratio * ratio, seen.added, seen.rights_value
                )
    return [days[day] for day in sorted(days)]


def step_factor(
    previous_close: Decimal | None,
    cash: Decimal,
    ratio: Decimal,
    added: Decimal = Decimal(0),
    rights_value: Decimal = Decimal(0),
) -> Decimal:
    """``P / ref`` with the ex-rights reference price
    ``ref = (P - cash + rights price x rights) / (ratio x (1 + bonus + capitalisation + rights))``
    (for a fund ``(P - c) / r``); raises ValueError when it cannot be computed or is beyond
    the limits of etfs/event_bounds.py.

    Without cash or rights to pay the step is the units ratio and needs no price.
    """
    with localcontext(prec=PRECISION):
        units = ratio * (1 + added)
        if ratio <= 0 or units <= 0:
            raise ValueError(f"ratio {units} is not positive")
        if not (cash or rights_value):
            step = units
        elif previous_close is None:
            raise ValueError("no stored close before the ex-date to price the cash against")
        elif previous_close <= cash:
            raise ValueError(f"cash {cash} is not below the previous close {previous_close}")
        else:
            reference = (previous_close - cash + rights_value) / units
            step = previous_close / reference
            if not 1 / MAX_STEP <= step <= MAX_STEP:
                raise ValueError(
                    f"the ex-rights reference price {reference:.10g} is more than {MAX_STEP} "
                    f"times away from the previous close {previous_close}"
                )
        if not 1 / MAX_STEP <= step <= MAX_STEP:
            raise ValueError(f"a step of {step:.10g} is beyond {MAX_STEP} either way")
        return step


def factor_rows(
    days: list[EventDay], close_before: Callable[[dt.date], Decimal | None]
) -> tuple[list[FactorRow], list[str]]:
    """The piecewise factors of one security; problems say which events could not be priced.

    An event that cannot be priced (cash but no close before it, a step beyond the limits)
    keeps a step of 1, so the factors of the other events still hold; the problem is reported
    for the run to show.
    """
    rows, problems = [], []
    hfq, split = ONE, ONE
    for index, day in enumerate(days):
        previous_close = close_before(day.ex_date)
        try:
            step = step_factor(previous_close, day.cash, day.ratio, day.added, day.rights_value)
            units = day.units
            with localcontext(prec=PRECISION):
                _check_cumulative(hfq * step, split * units)
        except (ValueError, ArithmeticError) as exc:
            problems.append(f"{day.ex_date}: {exc}; factor 1 used")
            step, units = ONE, ONE
        with localcontext(prec=PRECISION):
            hfq *= step
            split *= units
        following = days[index + 1].ex_date if index + 1 < len(days) else None
        rows.append(
            FactorRow(
                ex_date=day.ex_date,
                valid_until=following,
                previous_close=previous_close,
                cash=day.cash.quantize(CASH_PLACES),
                ratio=_stored(units, RATIO_PLACES),
                step=_stored(step),
                hfq_factor=_stored(hfq),
                split_factor=_stored(split),
            )
        )
    return rows, problems


def _check_cumulative(hfq: Decimal, split: Decimal) -> None:
    for name, value in (("cumulative factor", hfq), ("cumulative share ratio", split)):
        if not MIN_CUMULATIVE <= value <= MAX_CUMULATIVE:
            raise ValueError(
                f"the {name} would be {value:.6g}, outside [{MIN_CUMULATIVE}, {MAX_CUMULATIVE}]"
            )


def _stored(value: Decimal, places: Decimal = FACTOR_PLACES) -> Decimal:
    with localcontext(prec=PRECISION):
        return value.quantize(places, rounding=ROUND_HALF_EVEN)


# --- reading: adjusted bars -----------------------------------------------------------------


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"adjustment must be one of {MODES}, not {mode!r}")
    return mode


def market_today() -> dt.date:
    """Today on the market's clock: an ex-date after it has not come yet."""
    return timezone.now().astimezone(SHANGHAI).date()


def adjust_rows_in_python(
    rows: Iterable[dict], factors: dict[int, list[tuple]], mode: str, today: dt.date
):
    """The same arithmetic as the SQL of etfs/adjusted_bars.py, for databases without exact
    decimals.

    ``factors`` maps a security id to its (ex_date, hfq_factor, split_factor) rows by date.
    """
    dates = {security: [row[0] for row in own] for security, own in factors.items()}

    def in_force(security_id: int, day: dt.date) -> tuple[Decimal, Decimal]:
        own = factors.get(security_id, [])
        position = bisect_right(dates.get(security_id, []), day) - 1
        return (own[position][1], own[position][2]) if position >= 0 else (ONE, ONE)

    for row in rows:
        hfq, split = in_force(row["security_id"], row["trade_date"])
        latest_hfq, latest_split = in_force(row["security_id"], today)
        volume = Decimal(row["volume"])
        with localcontext(prec=PRECISION):
            # In the order the SQL computes it: multiply first, then divide.
            if mode == "none":
                adjusted = {name: row[name] for name in PRICES}
                adjusted["volume"] = volume
            elif mode == "hfq":
                adjusted = {name: row[name] * hfq for name in PRICES}
                adjusted["volume"] = volume / split
            else:
                adjusted = {name: row[name] * hfq / latest_hfq for name in PRICES}
                adjusted["volume"] = volume * latest_split / split
        volume = int(adjusted.pop("volume").quantize(ONE, rounding=ROUND_HALF_UP))
        yield {**row, **{name: _round(value) for name, value in adjusted.items()}, "volume": volume}


def _round(value: Decimal) -> Decimal:
    return value.quantize(OUTPUT_PLACES, rounding=ROUND_HALF_UP)
