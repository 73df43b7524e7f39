"""Weekly and monthly bars derived from the stored daily bars.

``DailyBar.objects.filter(security=fund).resampled("week")`` gives one dict per security and
period: ``security_id``, ``period_start`` (the Monday, or the first of the month, as a date),
``open`` (of the first trading day), ``high`` (max), ``low`` (min), ``close`` (of the last
trading day), ``volume`` and ``amount`` (sums) and ``days`` (trading days in the period),
ordered by security and period.

Where the work happens:
- TimescaleDB: ``time_bucket()`` with its ``first()``/``last()`` aggregates (compressed
  chunks are read in place; a SELECT never decompresses them into the table).
- plain PostgreSQL: ``date_trunc()``, and the open and close of the first and last day by
  ``MIN``/``MAX`` over ``[day, value]`` arrays (``DatedValue``).
- SQLite (the embedded default, a small database): one ordered read, grouped in Python.

All three agree: weeks start on Monday (``date_trunc('week')`` is ISO, and ``time_bucket``'s
default origin 2000-01-03 is a Monday), months on the first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from itertools import groupby

from django.contrib.postgres.fields import ArrayField
from django.db import connections, models
from django.db.models import Count, Max, Min, Sum
from django.db.models.query import ValuesIterable

from etfs.adjusted_bars import AdjustedValuesIterable, adjusted_expressions, join_factor_steps
from etfs.adjustment import adjust_rows_in_python, check_mode, market_today

PRICE = models.DecimalField(max_digits=14, decimal_places=4)
PERIODS = ("week", "month")
_VALUES = ("open", "high", "low", "close", "volume", "amount")
_KEYED_VALUES = ("security_id", "trade_date", *_VALUES)


class TimeBucket(models.Func):
    """TimescaleDB's ``time_bucket(interval, date)``, which returns a date for a date column.

    Not django-timescaledb's ``TimeBucket``: that one declares a ``TimescaleDateTimeField``
    (datetime) output, which mislabels the date that ``time_bucket`` returns for our
    ``trade_date``, and it would bring in an unmaintained package (last release 2023) for the
    few lines below.
    """

    function = "time_bucket"
    template = "%(function)s(INTERVAL '1 %(period)s', %(expressions)s)"
    output_field = models.DateField()

    def __init__(self, expression, period: str):
        if period not in PERIODS:
            raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
        super().__init__(expression, period=period)


class First(models.Aggregate):
    """TimescaleDB's ``first(value, time)``: the value at the earliest time in the group."""

    function = "first"
    name = "First"
    output_field = PRICE


class Last(models.Aggregate):
    """TimescaleDB's ``last(value, time)``: the value at the latest time in the group."""

    function = "last"
    name = "Last"
    output_field = PRICE


class PeriodStart(models.Func):
    """The Monday of a date's week or the first of its month, as a date (plain PostgreSQL).

    Not Django's ``TruncWeek``/``TruncMonth``: on a date they call ``date_trunc(text,
    timestamptz)`` (PostgreSQL promotes a date so), in the session's time zone, and Django
    turns each timestamp back into a date in Python.
    """

    template = "date_trunc('%(period)s', %(expressions)s::timestamp)::date"
    output_field = models.DateField()

    def __init__(self, expression, period: str):
        super().__init__(expression, period=period)


class DayNumber(models.Func):
    """A date as the number of days since 2000-01-01 (numeric, to share an array with a price)."""

    template = "(%(expressions)s - DATE '2000-01-01')::numeric"
    output_field = PRICE


class DatedValue(models.Func):
    """``ARRAY[day number, value]``: arrays compare element by element, and a security has one
    bar a day, so over one security's period ``MIN`` gives its first day's value and ``MAX``
    its last day's (``on_first_day``, ``on_last_day``).

    What ``(array_agg(value ORDER BY trade_date))[1]`` gave, without the sort PostgreSQL 15
    runs for an ordered aggregate in every group (a quarter of a weekly resampling's time).
    """

    template = "ARRAY[%(expressions)s]"
    output_field = ArrayField(PRICE)


class SecondElement(models.Func):
    """``(array)[2]``."""

    template = "(%(expressions)s)[2]"
    output_field = PRICE


def on_first_day(value: str) -> models.Expression:
    return SecondElement(Min(DatedValue(DayNumber("trade_date"), value)))


def on_last_day(value: str) -> models.Expression:
    return SecondElement(Max(DatedValue(DayNumber("trade_date"), value)))


class PythonAdjustedIterable(ValuesIterable):
    """Adjusted rows on databases without exact decimal arithmetic (SQLite): Python does it."""

    def __iter__(self):
        from etfs.models import AdjustmentFactor  # models imports this module

        rows = list(super().__iter__())
        factors: dict[int, list[tuple]] = {}
        stored = AdjustmentFactor.objects.using(self.queryset.db).filter(
            security_id__in={row["security_id"] for row in rows}
        )
        for security_id, *factor in stored.order_by("security_id", "ex_date").values_list(
            "security_id", "ex_date", "hfq_factor", "split_factor"
        ):
            factors.setdefault(security_id, []).append(tuple(factor))
        yield from adjust_rows_in_python(
            rows, factors, self.queryset._adjustment, self.queryset._adjusted_on
        )


class DailyBarQuerySet(models.QuerySet):
    # "none", "qfq" or "hfq" once adjusted() was called: rows are then dicts of adjusted values.
    _adjustment: str | None = None
    # The market's date the forward adjustment was anchored to (the factor in force then).
    _adjusted_on: dt.date | None = None

    def _clone(self):
        clone = super()._clone()
        clone._adjustment = self._adjustment
        clone._adjusted_on = self._adjusted_on
        return clone

    def adjusted(self, mode: str = "qfq") -> DailyBarQuerySet:
        """The bars as dicts of ``security_id``, ``trade_date``, adjusted ``open``, ``high``,
        ``low`` and ``close`` (4 decimal places), ``volume`` (whole shares) and ``amount``
        (unchanged).

        ``mode``: "qfq" (forward: today's prices stay), "hfq" (backward: the first day's stay)
        or "none". On PostgreSQL one query joins each bar to its security's factors, gathered once
        a security (etfs/adjusted_bars.py); ``.resampled(period)`` on the result resamples
        adjusted bars.
        """
        check_mode(mode)
        if self._adjustment is not None:
            raise ValueError("these bars are adjusted already")
        ordered = self if self.ordered else self.order_by("security_id", "trade_date")
        today = market_today()
        if connections[self.db].vendor == "postgresql":
            clone = ordered._chain()
            factors = join_factor_steps(clone.query, today)
            clone = clone.values("security_id", "trade_date", "amount").annotate(
                **adjusted_expressions(mode, *factors)
            )
            clone._iterable_class = AdjustedValuesIterable
        else:
            clone = ordered.values("security_id", "trade_date", *_VALUES)
            clone._iterable_class = PythonAdjustedIterable
        clone._adjustment = mode
        clone._adjusted_on = today
        return clone

    def recent(self, period: str = "day", count: int = 60) -> list[dict]:
        """The newest ``count`` daily, weekly or monthly bars of this queryset, newest first.

        Daily rows carry ``period_start`` (the trade date) like resampled ones, so one table
        shows either. Meant for one security (an ETF's admin page).
        """
        newest = self.order_by("-trade_date")
        if period == "day":
            if self._adjustment is None:
                newest = newest.values("trade_date", *_VALUES)
            rows = newest[:count]
            return [
                {"period_start": row["trade_date"], **{v: row[v] for v in _VALUES}} for row in rows
            ]
        last = newest.values_list("trade_date", flat=True).first()
        if last is None:
            return []
        since = last - dt.timedelta(days=(7 if period == "week" else 31) * count)
        return list(reversed(self.filter(trade_date__gt=since).resampled(period)))[:count]

    def resampled(self, period: str) -> list[dict]:
        """This queryset's bars as weekly or monthly bars, one dict per security and period."""
        if period not in PERIODS:
            raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
        connection = connections[self.db]
        if connection.vendor != "postgresql":
            ordered = self.order_by("security_id", "trade_date")
            if self._adjustment is not None:  # dicts of adjusted values, computed in Python
                rows = (tuple(row[name] for name in _KEYED_VALUES) for row in ordered)
            else:
                rows = ordered.values_list(*_KEYED_VALUES)
            return resample_rows(rows, period)
        # On an adjusted queryset the names below are its adjusted expressions, so the same
        # aggregates resample adjusted bars in the same single query.
        if _has_timescaledb(connection):
            bucket = TimeBucket("trade_date", period)
            first_open = First("open", "trade_date")
            last_close = Last("close", "trade_date")
        else:
            bucket = PeriodStart("trade_date", period)
            first_open, last_close = on_first_day("open"), on_last_day("close")
        grouped = (
            self.order_by()
            .annotate(period_start=bucket)
            .values("security_id", "period_start")
            .annotate(
                open=first_open,
                high=Max("high"),
                low=Min("low"),
                close=last_close,
                volume=Sum("volume"),
                amount=Sum("amount"),
                days=Count("*"),
            )
            .order_by("security_id", "period_start")
        )
        return list(grouped)


def period_start(day: dt.date, period: str) -> dt.date:
    """The Monday of ``day``'s week, or the first of its month."""
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def resample_rows(rows: Iterable[tuple], period: str) -> list[dict]:
    """Group (security_id, trade_date, open, high, low, close, volume, amount) rows, ordered
    by security and date, into one dict per security and period."""
    result = []
    keyed = groupby(rows, key=lambda row: (row[0], period_start(row[1], period)))
    for (security_id, start), group in keyed:
        bars = list(group)
        result.append(
            {
                "security_id": security_id,
                "period_start": start,
                "open": bars[0][2],
                "high": max(bar[3] for bar in bars),
                "low": min(bar[4] for bar in bars),
                "close": bars[-1][5],
                "volume": sum(bar[6] for bar in bars),
                "amount": sum(bar[7] for bar in bars),
                "days": len(bars),
            }
        )
    return result


def _has_timescaledb(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        return cursor.fetchone() is not None
