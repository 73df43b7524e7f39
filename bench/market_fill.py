"""The market-scale database of bench/market.py, filled set-based and kept between runs.

6,800 securities (1,400 ETFs, 5,400 A-shares) and 20 million daily bars on the calendar's
trading days: history lengths from 100 bars to the whole calendar (the oldest stocks, about
8,800 bars), skewed like the market's (most securities are young); 1 % of the securities miss
one trading day in 97, 2 % are 1 to 5 days behind. Around them: ~2,000 runs with problems,
corporate actions of 1,000 securities and their factors, bar revisions.

The bars are written by one ``INSERT ... SELECT`` over ``generate_series``-like joins with the
bar table's indexes and foreign key dropped, then rebuilt: minutes on 2 cores, not hours. A
marker table records what was filled; the same ``--securities`` and ``--bars`` again reuse it.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import connection, transaction

MARKER = "bench_market_fill"
MIN_BARS = 100


def filled(securities: int, bars: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER])
        if cursor.fetchone()[0] is None:
            return False
        cursor.execute(f"SELECT securities, bars FROM {MARKER}")
        return cursor.fetchone() == (securities, bars)


def fill(securities: int, bars: int, end: dt.date) -> None:
    """Securities, ``bars`` bars ending on ``end`` (a trading day), runs, events, revisions."""
    from etfs.models import TradingDay

    days = list(
        TradingDay.objects.open()
        .filter(date__lte=end)
        .order_by("-date")
        .values_list("date", flat=True)
    )
    began = time.perf_counter()
    ids = _securities(securities)
    lengths = history_lengths(len(ids), bars, len(days))
    _bars(ids, lengths, days)
    print(f"  bars: {sum(lengths):,} in {time.perf_counter() - began:.0f} s", flush=True)
    _runs_and_problems(ids)
    _events_and_factors(ids, lengths)
    _revisions(ids)
    from django.core.management import call_command

    began = time.perf_counter()
    call_command("refresh_freshness", stdout=_Quiet())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(f"CREATE TABLE {MARKER} (securities integer, bars bigint)")
        cursor.execute(f"INSERT INTO {MARKER} VALUES (%s, %s)", [securities, bars])
    print(f"  summaries and VACUUM ANALYZE: {time.perf_counter() - began:.0f} s", flush=True)


class _Quiet:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def history_lengths(count: int, bars: int, longest: int) -> list[int]:
    """Bars per security, summing to ``bars``: the first has the whole calendar, the others
    ``MIN_BARS + (longest - MIN_BARS) * u ** p`` with ``u`` spread evenly over (0, 1) and the
    power ``p`` that gives the mean (a few old securities, many young ones)."""
    mean = bars / count
    if not MIN_BARS < mean < longest:
        raise SystemExit(f"{bars:,} bars over {count:,} securities: {mean:.0f} each is off range")
    power = (longest - MIN_BARS) / (mean - MIN_BARS) - 1
    lengths = [longest] + [
        round(MIN_BARS + (longest - MIN_BARS) * ((n + 0.5) / count) ** power)
        for n in range(count - 1)
    ]
    # Round-off: the last securities absorb the difference so the total is exact.
    surplus = sum(lengths) - bars
    n = len(lengths) - 1
    while surplus and n > 0:
        step = max(min(surplus, lengths[n] - MIN_BARS), surplus - (longest - lengths[n]))
        lengths[n] -= step
        surplus -= step
        n -= 1
    return lengths


def _securities(count: int, batch_size: int = 2000) -> list[int]:
    """7 in 34 are ETFs (51xxxx in Shanghai, 15xxxx in Shenzhen), the others stocks (60xxxx,
    688xxx, 00xxxx, 30xxxx); their ids, the longest history first."""
    from etfs.models import StockInfo

    rows = []
    for n in range(count):
        if n % 34 in (3, 8, 13, 18, 23, 28, 33):
            code, exchange, is_etf = (
                (510000 + n, "XSHG", True) if n % 2 else (150000 + n, "XSHE", True)
            )
        else:
            code, exchange = ((600000, "XSHG"), (1, "XSHE"), (300000, "XSHE"), (688000, "XSHG"))[
                n % 4
            ]
            code, is_etf = code + n, False
        rows.append(
            StockInfo(code=f"{code:06d}", exchange=exchange, name=f"Security {n}", is_etf=is_etf)
        )
    created = StockInfo.objects.bulk_create(rows, batch_size=batch_size)
    return [row.pk for row in created]


def _bars(ids: list[int], lengths: list[int], days: list[dt.date]) -> None:
    """One INSERT ... SELECT, the table's indexes and foreign key rebuilt after it."""
    from etfs.models import DailyBar

    table = DailyBar._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("CREATE TEMPORARY TABLE bench_days (r integer PRIMARY KEY, date date)")
        cursor.execute(
            "INSERT INTO bench_days SELECT r - 1, d FROM unnest(%s::date[]) WITH ORDINALITY"
            " AS t(d, r)",
            [days],
        )
        # Per security: bars, how many days behind (2 %), whether it misses days (1 %).
        lag = [(n * 37 % 5) + 1 if n % 50 == 7 else 0 for n in range(len(ids))]
        gap = [n % 100 == 3 for n in range(len(ids))]
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_plan AS SELECT * FROM"
            " unnest(%s::bigint[], %s::integer[], %s::integer[], %s::boolean[])"
            " AS t(id, n, lag, gap)",
            [ids, lengths, lag, gap],
        )
        saved = _drop_indexes(cursor, table)
        cursor.execute(
            f"""
            INSERT INTO {table} (security_id, trade_date, open, high, low, close, volume, amount)
            SELECT id, date, open, greatest(open, close) + 0.01, least(open, close) - 0.01,
                   close, volume, round(volume * close, 3)
            FROM (
                SELECT p.id, d.date,
                       round(base * (1 + 0.3 * sin((d.r + p.id) / 40.0))::numeric, 3) AS close,
                       round(base * (1 + 0.3 * sin((d.r + p.id + 0.5) / 40.0))::numeric, 3) AS open,
                       100000 + (d.r * 7919 + p.id * 104729) % 900000 * 100 AS volume
                FROM (SELECT *, 2 + (id % 50) / 10.0 AS base FROM bench_plan) AS p
                JOIN bench_days AS d ON d.r >= p.lag AND d.r < p.lag + p.n
                WHERE NOT (p.gap AND d.r % 97 = 13)
                ORDER BY p.id, d.date
            ) AS generated
            """
        )
        for statement in saved:
            cursor.execute(statement)


def _drop_indexes(cursor, table: str) -> list[str]:
    """Drop the table's indexes and constraints but its primary key; the statements that
    build them again."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
        " AND indexname NOT IN (SELECT conname FROM pg_constraint"
        " WHERE conrelid = %s::regclass)",
        [table, table],
    )
    indexes = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    # Unique constraints first (the foreign keys need no index of ours, but go last).
    ordered = sorted(constraints, key=lambda row: row[1].startswith("FOREIGN"))
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in ordered
    ]


def _runs_and_problems(ids: list[int]) -> None:
    """~2,000 finished runs of every kind, 10 problems each."""
    from django.utils import timezone

    from etfs.models import SyncKind, SyncRun, SyncRunError, SyncStatus

    now = timezone.now()
    kinds, statuses = list(SyncKind.values), [SyncStatus.SUCCEEDED, SyncStatus.PARTIAL]
    runs = SyncRun.objects.bulk_create(
        SyncRun(
            kind=kinds[n % len(kinds)],
            status=statuses[n % 7 == 0],
            trigger="schedule",
            scope=f"bench-{n}",
            queued_at=now - dt.timedelta(hours=2000 - n),
            started_at=now - dt.timedelta(hours=2000 - n),
            finished_at=now - dt.timedelta(hours=2000 - n, minutes=-3),
            items_total=100,
            items_done=100,
            rows_created=6800,
        )
        for n in range(2000)
    )
    SyncRunError.objects.bulk_create(
        (
            SyncRunError(
                run=run,
                security_id=ids[(n * 10 + k) % len(ids)],
                code="510300",
                severity="warning",
                message=f"510300 2026-06-16: the close moved +25.0% ({k})",
            )
            for n, run in enumerate(runs)
            for k in range(10)
        ),
        batch_size=5000,
    )


def _events_and_factors(ids: list[int], lengths: list[int]) -> None:
    """Three cash dividends a year for the longest security, one a year for 1,000 others."""
    from etfs.models import CorporateAction, DailyBar
    from etfs.sync.factors import recompute_factors

    events = []
    chosen = ids[:1000]
    for n, security_id in enumerate(chosen):
        span = DailyBar.objects.filter(security_id=security_id).order_by("trade_date")
        first = span.values_list("trade_date", flat=True).first()
        if first is None:
            continue
        step = 120 if n == 0 else 365
        day = first + dt.timedelta(days=step)
        while day < dt.date(2026, 6, 1):
            events.append(
                CorporateAction(security_id=security_id, ex_date=day, kind="cash", cash="0.01")
            )
            day += dt.timedelta(days=step)
    with transaction.atomic():
        CorporateAction.objects.bulk_create(events, batch_size=5000)
    recompute_factors(chosen)


def _revisions(ids: list[int]) -> None:
    from etfs.models import BarRevision

    values = {f"{when}_{name}": 1 for when in ("old", "new") for name in ("open", "high")}
    values |= {f"{when}_{name}": 1 for when in ("old", "new") for name in ("low", "close")}
    values |= {"old_volume": 100, "new_volume": 200, "old_amount": 100, "new_amount": 200}
    BarRevision.objects.bulk_create(
        (
            BarRevision(security_id=ids[n % len(ids)], trade_date=dt.date(2026, 1, 5), **values)
            for n in range(5000)
        ),
        batch_size=5000,
    )
