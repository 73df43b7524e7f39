"""Freshness and gaps per security, stored on StockInfo by the writes, set-based.

Counting bars per security on every admin request took 850 ms at 3 million bars; the numbers
are kept instead. Each committed batch of bars adds what it inserted to its securities'
summary (``add_new_bars``: the count grows, the first and last bar widen, the missing days
are counted again from the calendar), and each price run refreshes "days behind" for every ETF
in one more UPDATE. Recounting a batch's securities from their bars instead cost the whole
history of each (0.27 s for 1,000 new bars at a million stored, bench/ingest.py); the recount
(``refresh_bar_summary``) stays for whatever deletes bars or writes them around the upsert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Greatest

from etfs.models import DailyBar, StockInfo, TradingDay


class SubqueryCount(Subquery):
    """``count(*)`` of a correlated subquery: no GROUP BY, no NULL for "none"."""

    template = "(SELECT count(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()


@dataclass(frozen=True, slots=True)
class NewBars:
    """The bars a write inserted for one security: how many, the earliest and the latest day."""

    count: int
    first: dt.date
    last: dt.date

    def __add__(self, other: NewBars) -> NewBars:
        return NewBars(
            self.count + other.count, min(self.first, other.first), max(self.last, other.last)
        )


def refresh_bar_summary(security_ids: Iterable[int]) -> None:
    """Bar count, first/last bar and missing trading days of these securities, from the bars.

    The recount: for the data migration, for bars written around the upsert, and after bars
    are deleted (a batch of the upsert only adds bars, and keeps the summary by ``add_new_bars``).
    """
    security_ids = sorted(set(security_ids))
    if not security_ids:
        return
    bars = DailyBar.objects.filter(security=OuterRef("pk"))
    # Newest and oldest through the (security, trade_date) unique index: two index probes.
    StockInfo.objects.filter(pk__in=security_ids).update(
        bar_count=SubqueryCount(bars.values("id")),
        first_bar_date=Subquery(bars.order_by("trade_date").values("trade_date")[:1]),
        last_bar_date=Subquery(bars.order_by("-trade_date").values("trade_date")[:1]),
    )
    _count_missing_days(security_ids)


SUMMARY = StockInfo._meta.db_table
# One statement for the whole batch: the new bars' numbers as arrays, joined on the id. LEAST
# and GREATEST skip NULL, the dates of a security without bars yet.
WIDEN_POSTGRESQL_SQL = f"""
UPDATE {SUMMARY} AS summary
SET bar_count = summary.bar_count + new.count,
    first_bar_date = LEAST(summary.first_bar_date, new.first),
    last_bar_date = GREATEST(summary.last_bar_date, new.last)
FROM unnest(%s::bigint[], %s::integer[], %s::date[], %s::date[]) AS new (id, count, first, last)
WHERE summary.id = new.id
"""
# SQLite (in process, so a statement per security costs microseconds): its min() and max() of
# several values are NULL if one is, hence the COALESCE.
WIDEN_SQL = f"""
UPDATE {SUMMARY}
SET bar_count = bar_count + %s,
    first_bar_date = min(coalesce(first_bar_date, %s), %s),
    last_bar_date = max(coalesce(last_bar_date, %s), %s)
WHERE id = %s
"""


def add_new_bars(new_bars: Mapping[int, NewBars], security_ids: Iterable[int]) -> None:
    """The summary of a batch's securities once the batch inserted ``new_bars`` (and at most
    changed the values of stored bars, which moves no count or date): counts grow by the bars
    inserted, the first and last bar widen to theirs, and the missing days of every security of
    the batch are counted again from the calendar and the new count.

    Increments in SQL: two writers adding bars to the same security at once both count (the
    second UPDATE waits for the first's row lock, then adds to its committed value).
    """
    new_bars = {security_id: new for security_id, new in new_bars.items() if new.count}
    if new_bars:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                ids = sorted(new_bars)
                news = [new_bars[security_id] for security_id in ids]
                columns = ([n.count for n in news], [n.first for n in news], [n.last for n in news])
                cursor.execute(WIDEN_POSTGRESQL_SQL, [ids, *columns])
            else:
                cursor.executemany(
                    WIDEN_SQL,
                    [
                        (new.count, new.first, new.first, new.last, new.last, security_id)
                        for security_id, new in sorted(new_bars.items())
                    ],
                )
    _count_missing_days(sorted(set(security_ids) | set(new_bars)))


def _count_missing_days(security_ids: list[int]) -> None:
    """Trading days between each security's first and last bar, less its bars (at least 0)."""
    trading_days = TradingDay.objects.open().filter(
        date__gte=OuterRef("first_bar_date"), date__lte=OuterRef("last_bar_date")
    )
    StockInfo.objects.filter(pk__in=security_ids, bar_count__gt=0).update(
        missing_days=Greatest(SubqueryCount(trading_days.values("id")) - F("bar_count"), Value(0))
    )
    StockInfo.objects.filter(pk__in=security_ids, bar_count=0).update(missing_days=0)


def refresh_days_behind(final_day: dt.date, security_ids=None) -> None:
    """Trading days after each ETF's last bar up to ``final_day`` (None: no bar at all)."""
    etfs = StockInfo.objects.filter(is_etf=True)
    if security_ids is not None:
        etfs = etfs.filter(pk__in=security_ids)
    later = TradingDay.objects.open().filter(
        date__gt=OuterRef("last_bar_date"), date__lte=final_day
    )
    etfs.filter(last_bar_date__isnull=False).update(days_behind=SubqueryCount(later.values("id")))
    etfs.filter(last_bar_date__isnull=True).update(days_behind=None)


def missing_trading_days(security: StockInfo, limit: int = 500) -> list[dt.date]:
    """The trading days between a security's first and last bar that have no bar."""
    if security.first_bar_date is None:
        return []
    held = DailyBar.objects.filter(security=security).values("trade_date")
    days = (
        TradingDay.objects.open()
        .filter(date__range=(security.first_bar_date, security.last_bar_date))
        .exclude(date__in=held)
        .values_list("date", flat=True)
    )
    return list(days[:limit])
