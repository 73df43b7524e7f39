"""Trading days without a bar, counted as days: what the calendar, the bars off it and the
suspensions say about a batch of securities' spans, read in a few queries for all of them.

A security's missing days are the trading days between its first and its last bar that hold
no bar and that no suspension explains. They are not "expected days less stored bars": a bar
on a day the calendar holds closed would hide a real gap (6 missing days and 6 bars on closed
days made "0 gaps"). Bars off the trading days are counted apart and shown on their own.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max, Q

from etfs.models import DailyBar, Suspension, TradingDay

from .sql_arrays import among, array_literal


@dataclass(frozen=True, slots=True)
class SpanGaps:
    """What one security's span [first bar, last bar] holds besides its bars."""

    trading_days: int  # open days of the calendar in the span
    bars_off_trading_days: int  # bars on days the calendar does not hold open
    bars_on_closed_days: int  # of those, on days it knows closed (not on days it does not know)
    suspended_days: int  # trading days without a bar that a suspension explains


def count_gaps(spans: dict[int, tuple[dt.date, dt.date]]) -> dict[int, SpanGaps]:
    """For each security id -> (first bar, last bar): its span's trading days, bars off them,
    and suspended days without a bar. Four queries for the whole batch."""
    if not spans:
        return {}
    since = min(first for first, _ in spans.values())
    until = max(last for _, last in spans.values())
    open_days = list(
        TradingDay.objects.open()
        .filter(date__range=(since, until))
        .order_by("date")
        .values_list("date", flat=True)
    )
    with transaction.atomic(savepoint=False):
        known_until = _calendar_end()
        off = _bars_off_trading_days(spans, since, until, set(open_days))
    suspended = _suspended_days_without_bar(spans, open_days)
    result = {}
    for pk, (first, last) in spans.items():
        own_off = [day for day in off.get(pk, ()) if first <= day <= last]
        closed = sum(known_until is not None and day <= known_until for day in own_off)
        result[pk] = SpanGaps(
            trading_days=bisect_right(open_days, last) - bisect_left(open_days, first),
            bars_off_trading_days=len(own_off),
            bars_on_closed_days=closed,
            suspended_days=suspended.get(pk, 0),
        )
    return result


def _bars_off_trading_days(spans, since: dt.date, until: dt.date, open_days: set) -> dict:
    """Bars of these securities on days that are not trading days, by security.

    Read through the trade-date index, one probe per day that is not a trading day: such
    bars are rare, so the probes find almost nothing, whatever the length of the histories
    (counting the bars on trading days instead would read every bar of the batch).
    """
    other_days = [
        day
        for offset in range((until - since).days + 1)
        if (day := since + dt.timedelta(days=offset)) not in open_days
    ]
    found: dict[int, list[dt.date]] = defaultdict(list)
    if not other_days:
        return found
    for security_id, day in _bars_on_days(other_days):
        if security_id in spans:
            found[security_id].append(day)
    return found


# One probe of the (trade date, security) index per day, whatever the planner's statistics say:
# the LATERAL subquery, kept apart by OFFSET 0, cannot be flattened into a join. As
# `trade_date IN (...)`, on a bars table never analysed (a first sync, before autovacuum comes
# round) the planner hashed the days and read the whole table at every batch: 70-135 ms at
# 290,700 bars, and growing with each batch of the load. Without statistics it also expects
# hundreds of bars a day, a cost that would have the plan JIT-compiled (0.2 s for 491 days):
# JIT is off for it (_calendar_end, read just before in the same transaction).
BARS_ON_DAYS_POSTGRESQL_SQL = f"""
SELECT bar.security_id, bar.trade_date
FROM unnest(%s::date[]) AS day (trade_date)
CROSS JOIN LATERAL (
    SELECT security_id, trade_date FROM {DailyBar._meta.db_table} AS stored
    WHERE stored.trade_date = day.trade_date
    OFFSET 0
) AS bar
"""


def _bars_on_days(days: list[dt.date]):
    """(security id, day) of every bar on one of ``days``."""
    if connection.vendor != "postgresql":
        return DailyBar.objects.filter(trade_date__in=days).values_list("security_id", "trade_date")
    with connection.cursor() as cursor:
        cursor.execute(BARS_ON_DAYS_POSTGRESQL_SQL, [array_literal(days)])
        return cursor.fetchall()


# The calendar's last day; on PostgreSQL it also turns JIT off for the rest of the transaction,
# for the probes above, without a statement of its own.
CALENDAR_END_POSTGRESQL_SQL = (
    f"SELECT max(date), set_config('jit', 'off', true) FROM {TradingDay._meta.db_table}"
)


def _calendar_end() -> dt.date | None:
    """The last day the calendar knows (open or closed)."""
    if connection.vendor != "postgresql":
        return TradingDay.objects.aggregate(last=Max("date"))["last"]
    with connection.cursor() as cursor:
        cursor.execute(CALENDAR_END_POSTGRESQL_SQL)
        return cursor.fetchone()[0]


def _suspended_days_without_bar(spans, open_days: list[dt.date]) -> Counter:
    """Trading days inside a stored suspension and the security's span that hold no bar."""
    since = min(first for first, _ in spans.values())
    until = max(last for _, last in spans.values())
    periods = _suspensions(list(spans), since, until)
    days: dict[int, set[dt.date]] = defaultdict(set)
    for security_id, start, end in periods:
        first, last = spans[security_id]
        low, high = max(start, first), min(end or last, last)
        days[security_id].update(
            open_days[bisect_left(open_days, low) : bisect_right(open_days, high)]
        )
    counts = Counter({pk: len(own) for pk, own in days.items()})
    if not days:
        return counts
    with_bars = DailyBar.objects.filter(
        security_id__in=among(days), trade_date__in=among(set().union(*days.values()), "date")
    ).values_list("security_id", "trade_date")
    for security_id, day in with_bars:
        if day in days[security_id]:
            counts[security_id] -= 1
    return counts


def _suspensions(security_ids, since: dt.date, until: dt.date):
    return Suspension.objects.filter(
        Q(end__isnull=True) | Q(end__gte=since),
        security_id__in=among(security_ids),
        start__lte=until,
    ).values_list("security_id", "start", "end")


def suspended_days_of(security_id: int, first: dt.date, last: dt.date) -> set[dt.date]:
    """The trading days of one security's span inside one of its suspensions."""
    open_days = list(
        TradingDay.objects.open()
        .filter(date__range=(first, last))
        .order_by("date")
        .values_list("date", flat=True)
    )
    days: set[dt.date] = set()
    for _, start, end in _suspensions([security_id], first, last):
        low, high = max(start, first), min(end or last, last)
        days.update(open_days[bisect_left(open_days, low) : bisect_right(open_days, high)])
    return days
