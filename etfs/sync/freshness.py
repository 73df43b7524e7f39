"""Freshness and gaps per security, stored on StockInfo by the writes, set-based.

Counting bars per security on every admin request is too slow at millions of bars, so the
numbers are kept instead. Each committed batch of bars adds what it inserted to its securities'
summary (``add_new_bars``): the count grows, the first and last bar widen, and the missing days
are counted again from one read of the calendar, without reading the securities' whole
histories (docs/benchmarks.md has the measurements). The recount, ``refresh_bar_summary``,
stays for bars written around the upsert, repairs (``manage.py refresh_freshness``), and any
deletion of bars. A day the
calendar learns or corrects counts again the missing days of the securities whose bars span it
(``recount_missing_days``). Each price run refreshes "days behind" for every ETF in one more
UPDATE.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import IntegerField, OuterRef, Subquery

from etfs.models import DailyBar, StockInfo, TradingDay

from .gaps import count_gaps, suspended_days_of
from .sql_arrays import among, array_literal
from .universe import ETFS, Universe


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


# A security's summary: bar count, first and last bar, missing days, suspended days, bars on
# closed days.
Summary = tuple[int, dt.date | None, dt.date | None, int, int, int]
SUMMARY = (
    "bar_count",
    "first_bar_date",
    "last_bar_date",
    "missing_days",
    "suspended_days",
    "bars_off_calendar",
)


def refresh_bar_summary(security_ids: Iterable[int]) -> None:
    """Bar count, first/last bar and missing trading days of these securities, from the bars.

    The recount: for bars written around the upsert, repairs, and bars deleted (a batch of the
    upsert only adds bars, and adds them to the summary with ``add_new_bars``).
    """
    security_ids = sorted(set(security_ids))
    if not security_ids:
        return
    bars = DailyBar.objects.filter(security=OuterRef("pk"))
    with transaction.atomic():
        # Newest and oldest through the (security, trade_date) unique index: two index probes.
        StockInfo.objects.filter(pk__in=security_ids).update(
            bar_count=SubqueryCount(bars.values("id")),
            first_bar_date=Subquery(bars.order_by("trade_date").values("trade_date")[:1]),
            last_bar_date=Subquery(bars.order_by("-trade_date").values("trade_date")[:1]),
        )
        _keep_summaries(security_ids, {})


def add_new_bars(new_bars: Mapping[int, NewBars], security_ids: Iterable[int]) -> None:
    """The summary of a batch's securities once the batch inserted ``new_bars`` and at most
    changed the values of stored bars (which moves no count and no date): each count grows by
    the bars inserted, the first and last bar widen to theirs, and the missing days of every
    security of the batch are counted again (the calendar may have learnt days since)."""
    with transaction.atomic():
        _keep_summaries(sorted(set(security_ids) | set(new_bars)), new_bars)


def recount_missing_days(changed_days: Iterable[dt.date], batch: int = 1000) -> int:
    """Count again the missing days of every security whose bars span a day the calendar has
    just learnt or corrected (its bars may have come first: the after-close run can store a day
    before the calendar sync knows it). Returns how many securities were looked at."""
    changed_days = sorted(changed_days)
    if not changed_days:
        return 0
    spanning = StockInfo.objects.filter(
        first_bar_date__lte=changed_days[-1], last_bar_date__gte=changed_days[0]
    )
    security_ids = list(spanning.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(security_ids), batch):
        with transaction.atomic():
            _keep_summaries(security_ids[start : start + batch], {})
    if security_ids:
        analyze(StockInfo)
    return len(security_ids)


def analyze(*models) -> None:
    """Refresh the planner's statistics of these tables after a bulk rewrite: a server without
    autovacuum (or before it comes round) would otherwise plan the admin's lists on the
    numbers of before (bench/market.py measures the lists with none at all)."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _keep_summaries(security_ids: list[int], new_bars: Mapping[int, NewBars]) -> None:
    """Add ``new_bars`` to these securities' summaries, count their missing days, and write
    the summaries that changed."""
    # Locked in id order before they are read: two batches adding bars to the same security
    # take turns, the second reading what the first committed. FOR NO KEY UPDATE is the lock
    # the UPDATE takes anyway: other tables' foreign key checks on these rows are not blocked.
    stored = (
        StockInfo.objects.select_for_update(no_key=True)
        .filter(pk__in=among(security_ids))
        .order_by("pk")
        .values_list("pk", *SUMMARY)
    )
    before = {row[0]: row[1:] for row in stored}
    after = {pk: _widened(summary, new_bars.get(pk)) for pk, summary in before.items()}
    after = _with_missing_days(after)
    _write({pk: summary for pk, summary in after.items() if summary != before[pk]})


def _widened(summary: Summary, new: NewBars | None) -> Summary:
    count, first, last, *counted = summary
    if new is None or not new.count:
        return summary
    return (
        count + new.count,
        min(first or new.first, new.first),
        max(last or new.last, new.last),
        *counted,
    )


def _with_missing_days(summaries: dict[int, Summary]) -> dict[int, Summary]:
    """Count each security's trading days without a bar between its first and last bar, as
    days: a bar on a day the calendar holds closed (or does not know yet) is not a trading
    day's bar and is counted apart, never netted against a gap; a day without a bar inside a
    suspension is suspended, not missing (etfs/sync/gaps.py reads the calendar, the bars off
    it and the suspensions for the whole batch at once)."""
    spans = {pk: (first, last) for pk, (count, first, last, *_) in summaries.items() if count}
    gaps = count_gaps(spans)
    result = {}
    for pk, (count, first, last, *_) in summaries.items():
        if not count:
            result[pk] = (count, first, last, 0, 0, 0)
            continue
        span = gaps[pk]
        on_trading_days = count - span.bars_off_trading_days
        missing = span.trading_days - on_trading_days - span.suspended_days
        result[pk] = (
            count,
            first,
            last,
            max(missing, 0),
            span.suspended_days,
            span.bars_on_closed_days,
        )
    return result


# One statement for the whole batch on PostgreSQL: the summaries as arrays, joined on the id.
WRITE_POSTGRESQL_SQL = f"""
UPDATE {StockInfo._meta.db_table} AS stored
SET {", ".join(f"{column} = summary.{column}" for column in SUMMARY)}
FROM unnest(%s::bigint[], %s::integer[], %s::date[], %s::date[], %s::integer[], %s::integer[],
    %s::integer[])
    AS summary (id, {", ".join(SUMMARY)})
WHERE stored.id = summary.id
"""
# SQLite runs in the process: a statement per security costs microseconds.
WRITE_SQL = (
    f"UPDATE {StockInfo._meta.db_table} SET {', '.join(f'{column} = %s' for column in SUMMARY)}"
    " WHERE id = %s"
)


def _write(summaries: dict[int, Summary]) -> None:
    """Store these summaries (Django's bulk_update, a CASE per column, took 400 ms for 1,000)."""
    if not summaries:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [array_literal(column) for column in zip(*summaries.values(), strict=True)]
            cursor.execute(WRITE_POSTGRESQL_SQL, [array_literal(summaries), *columns])
        else:
            cursor.executemany(WRITE_SQL, [(*summary, pk) for pk, summary in summaries.items()])


def refresh_days_behind(final_day: dt.date, security_ids=None, universe: Universe = ETFS) -> None:
    """Trading days after each security's last bar up to ``final_day`` (None: no bar at all),
    for the securities of the universe (delisted ones too)."""
    etfs = universe.every()
    if security_ids is not None:
        etfs = etfs.filter(pk__in=security_ids)
    later = TradingDay.objects.open().filter(
        date__gt=OuterRef("last_bar_date"), date__lte=final_day
    )
    etfs.filter(last_bar_date__isnull=False).update(days_behind=SubqueryCount(later.values("id")))
    etfs.filter(last_bar_date__isnull=True).update(days_behind=None)


def missing_trading_days(
    security: StockInfo, limit: int = 500, *, suspended: bool = False
) -> list[dt.date]:
    """The trading days between a security's first and last bar that have no bar and that no
    suspension explains (``suspended``: those a suspension explains)."""
    counted = security.suspended_days if suspended else security.missing_days
    if security.first_bar_date is None or not counted:
        return []  # the kept count says there is none: no read of the history
    held = DailyBar.objects.filter(security=security).values("trade_date")
    days = (
        TradingDay.objects.open()
        .filter(date__range=(security.first_bar_date, security.last_bar_date))
        .exclude(date__in=held)
        .order_by("date")
        .values_list("date", flat=True)
    )
    explained = suspended_days_of(security.pk, security.first_bar_date, security.last_bar_date)
    chosen = (day for day in days if (day in explained) is suspended)
    return list(itertools.islice(chosen, limit))
