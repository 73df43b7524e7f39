"""After each price batch: warn about jumps no corporate action explains; refresh factors.

A fund's raw price jumps on a split or a conversion (x2, x100) and drops by the cash on an
ex-date. A jump beyond ``ETFSYNC_JUMP_THRESHOLD`` on a day without a known event, or a list
pass whose previous close (``f18``, the exchange's reference price) differs from the stored
close, is most likely an event the lists missed: it is recorded as a warning on the run.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import F, Q, Window
from django.db.models.functions import Abs, Lag

from etfs.models import CorporateAction, DailyBar

from .factors import funds_needing_factors, recompute_factors
from .runs.problems import Problem
from .sql_arrays import among, array_literal

# The kinds of warning this module records, as run summaries name them.
UNEXPLAINED_MOVE = "a price move no corporate action explains"
UNSHARED_CLOSE = "a previous close the source does not share"
# How far back the close before a batch's first bar is looked for (a suspension may be longer;
# then that first bar is not checked).
PREVIOUS_BAR_WINDOW = dt.timedelta(days=31)
# f18 has three decimals; stored closes four.
PRICE_ROUNDING = Decimal("0.0005")


def after_price_batch(recorder, batch) -> None:
    """The hook the price sync calls with each written batch: [(plan, bars), ...].

    Two queries a batch (the funds' events; the jumps, found by the database); the factors of
    funds with a bar before one of their ex-dates are recomputed (more queries, for those only).
    Only each fund's first and last written day are read from the batch, so the bars' text is
    never parsed here.
    """
    written = [
        (plan.security_id, plan.code, *_written_span(bars)) for plan, bars in batch if len(bars)
    ]
    if not written:
        return
    events = set(
        CorporateAction.objects.filter(
            security_id__in=among({row[0] for row in written})
        ).values_list("security_id", "ex_date")
    )
    steady = {plan.security_id for plan, bars in batch if surely_steady(plan, bars)}
    checked = [row for row in written if row[0] not in steady]
    warnings = unexplained_jumps(checked, events) if checked else []
    recorder.record(
        *(
            Problem.warning(text, code=code, security_id=security_id, kind=UNEXPLAINED_MOVE)
            for security_id, code, text in warnings
        )
    )
    recompute_factors(funds_needing_factors([(row[0], row[2]) for row in written], events))


def surely_steady(plan, bars) -> bool:
    """A fund's first bars (none stored before the run: the table then holds just these, in
    this order) whose parser measured no move near the threshold: the database's check
    would find nothing. A full history of 969 bars costs that check 2 ms of the server's CPU;
    a move within a billionth of the threshold is left to it (float against exact decimals)."""
    largest = getattr(bars, "largest_move", None)
    if plan.last is not None or largest is None:
        return False
    return largest < settings.ETFSYNC_JUMP_THRESHOLD * (1 - 1e-9)


def _written_span(bars) -> tuple[dt.date, dt.date]:
    """(first, last) trade date of a fund's written bars: BarRows know them as text."""
    first, last = getattr(bars, "first", ""), getattr(bars, "last", "")
    if first and last:
        return dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    days = [bar.trade_date for bar in bars]
    return min(days), max(days)


def unexplained_jumps(
    written: list[tuple[int, str, dt.date, dt.date]], events: set[tuple[int, dt.date]] | None = None
) -> list[tuple[int, str, str]]:
    """(security id, code, message) for each written bar that jumps from the close before it.

    ``written`` holds (security id, code, first day, last day) per fund; ``events`` the funds'
    (security id, ex-date) pairs, read here when not given. The database compares each bar
    with the one before it (a window function) and returns only the moves beyond the
    threshold, so a batch of a whole history costs one indexed range scan and a few rows.
    """
    spans = {security_id: (code, first, last) for security_id, code, first, last in written}
    since = min(first for _, _, first, _ in written) - PREVIOUS_BAR_WINDOW
    until = max(last for _, _, _, last in written)
    if events is None:
        events = event_days(spans, since, until)
    warnings = []
    for security_id, day, before, previous_close, open_, close in _moves_beyond_threshold(
        spans, since, until
    ):
        code, first, last = spans[security_id]
        if not first <= day <= last or explained(events, security_id, before, day):
            continue
        moves = {"open": open_ / previous_close - 1, "close": close / previous_close - 1}
        which = max(moves, key=lambda name: abs(moves[name]))
        text = (
            f"{code} {day}: the {which} moved {moves[which]:+.1%} from the previous close "
            f"{previous_close.normalize()} ({before}), no corporate action known"
        )
        warnings.append((security_id, code, text))
    return warnings


def explained(
    events: set[tuple[int, dt.date]], security_id: int, before: dt.date | None, day: dt.date
) -> bool:
    """An event explains a move when its ex-date falls after the bar before and on or before
    the moving bar's day: an ex-date may be a day without a bar (513500's split of 2022-03-29
    had none; the move shows on the next bar)."""
    if before is None:
        return (security_id, day) in events
    return any(
        (security_id, before + dt.timedelta(days=offset)) in events
        for offset in range(1, (day - before).days + 1)
    )


# Each fund's written bars and the one bar before them (within the window), found through the
# (security, trade date) index, then compared by a window function: a day written for 6,800
# funds compares 13,600 rows. The window over every bar since the batch's first day less 31
# days compared 156,000 and took 610 ms at 20 M bars (bench/market.py).
MOVES_POSTGRESQL_SQL = f"""
SELECT security_id, trade_date, before, previous_close, open, close FROM (
    SELECT bar.security_id, bar.trade_date, bar.open, bar.close,
           lag(bar.trade_date) OVER by_day AS before, lag(bar.close) OVER by_day AS previous_close
    FROM unnest(%(ids)s::bigint[], %(firsts)s::date[], %(lasts)s::date[])
        AS span (security_id, first, last)
    CROSS JOIN LATERAL (
        (SELECT earlier.security_id, earlier.trade_date, earlier.open, earlier.close
         FROM {DailyBar._meta.db_table} AS earlier
         WHERE earlier.security_id = span.security_id AND earlier.trade_date < span.first
           AND earlier.trade_date >= span.first - %(window)s
         ORDER BY earlier.trade_date DESC LIMIT 1)
        UNION ALL
        SELECT written.security_id, written.trade_date, written.open, written.close
        FROM {DailyBar._meta.db_table} AS written
        WHERE written.security_id = span.security_id
          AND written.trade_date BETWEEN span.first AND span.last
    ) AS bar
    WINDOW by_day AS (PARTITION BY bar.security_id ORDER BY bar.trade_date)
) AS moves
WHERE abs(open / previous_close - 1) > %(threshold)s
   OR abs(close / previous_close - 1) > %(threshold)s
ORDER BY security_id, trade_date
"""


def _moves_beyond_threshold(spans: dict, since: dt.date, until: dt.date):
    threshold = Decimal(str(settings.ETFSYNC_JUMP_THRESHOLD))
    if connection.vendor == "postgresql":
        ids = list(spans)
        with connection.cursor() as cursor:
            cursor.execute(
                MOVES_POSTGRESQL_SQL,
                {
                    "ids": array_literal(ids),
                    "firsts": array_literal(spans[security_id][1] for security_id in ids),
                    "lasts": array_literal(spans[security_id][2] for security_id in ids),
                    "window": PREVIOUS_BAR_WINDOW.days,
                    "threshold": threshold,
                },
            )
            return cursor.fetchall()
    previous = {"partition_by": [F("security_id")], "order_by": F("trade_date").asc()}
    return (
        DailyBar.objects.filter(security_id__in=spans, trade_date__range=(since, until))
        .annotate(
            before=Window(Lag("trade_date"), **previous),
            previous_close=Window(Lag("close"), **previous),
        )
        .alias(
            open_move=Abs(F("open") / F("previous_close") - 1),
            close_move=Abs(F("close") / F("previous_close") - 1),
        )
        .filter(Q(open_move__gt=threshold) | Q(close_move__gt=threshold))
        .order_by("security_id", "trade_date")
        .values_list("security_id", "trade_date", "before", "previous_close", "open", "close")
    )


def event_days(security_ids, since: dt.date, until: dt.date) -> set[tuple[int, dt.date]]:
    return set(
        CorporateAction.objects.filter(
            security_id__in=security_ids, ex_date__range=(since, until)
        ).values_list("security_id", "ex_date")
    )


def check_list_previous_closes(recorder, plans: dict, previous_closes: dict, day: dt.date) -> None:
    """Hook of the daily list pass: the source's previous close (f18) against the stored one.

    ``plans`` maps (code, exchange) to the plans of funds whose last stored bar is the
    previous trading day; its close is what f18 should say, unless an event falls on ``day``.
    """
    pairs = [
        (plans[key], source_close) for key, source_close in previous_closes.items() if key in plans
    ]
    if not pairs:
        return
    ids = [plan.security_id for plan, _ in pairs]
    stored = {
        (security_id, last): close
        for security_id, last, close in DailyBar.objects.filter(
            security_id__in=ids, trade_date__in={plan.last for plan, _ in pairs}
        ).values_list("security_id", "trade_date", "close")
    }
    events = event_days(ids, day, day)
    warnings = []
    for plan, source_close in pairs:
        mine = stored.get((plan.security_id, plan.last))
        if mine is None or (plan.security_id, day) in events:
            continue
        if abs(mine - source_close) > PRICE_ROUNDING:
            warnings.append(
                Problem.warning(
                    f"{plan.code} {day}: previous close {source_close.normalize()} at the source, "
                    f"{mine.normalize()} stored, no corporate action known",
                    code=plan.code,
                    security_id=plan.security_id,
                    kind=UNSHARED_CLOSE,
                )
            )
    recorder.record(*warnings)
