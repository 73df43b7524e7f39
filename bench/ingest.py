"""Ingest benchmark: the project's bar upsert against a raw COPY of the same rows.

    .venv/bin/python bench/ingest.py [--bars 1000000] [--funds 1000]

Uses (and recreates) the PostgreSQL database in BENCH_DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/etfsync_bench).
"""

import argparse
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import load, machine, median_and_spread, setup_django, timed  # noqa: E402


def make_rows(security_ids, days_per_fund: int, first_day: dt.date, shift: int = 0):
    from etfs.providers.base import Bar

    rows = []
    for index, security_id in enumerate(security_ids):
        price = 1000 + index
        for offset in range(days_per_fund):
            day = first_day + dt.timedelta(days=offset + shift)
            close = Decimal(price + offset % 37) / 1000
            rows.append(
                (
                    security_id,
                    Bar(
                        day,
                        close,
                        close + Decimal("0.010"),
                        close - Decimal("0.010"),
                        close,
                        100 * (offset + 1),
                        close * 100 * (offset + 1),
                    ),
                )
            )
    return rows


def raw_copy(rows, table: str = "bench_raw_bars", *, hypertable: bool = False) -> None:
    """COPY the rows straight into an empty table shaped like the bars table (optionally a
    TimescaleDB hypertable on trade_date), with the same COPY as the upsert's stage."""
    from django.db import connection, transaction

    from etfs.sync.upsert import copy_rows

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} (LIKE etfs_dailybar INCLUDING ALL)")
        if hypertable:
            cursor.execute(
                f"SELECT create_hypertable('{table}', 'trade_date',"
                " chunk_time_interval => INTERVAL '1 year', create_default_indexes => false)"
            )
        cursor.execute(
            f"ALTER TABLE {table} ADD FOREIGN KEY (security_id) REFERENCES etfs_stockinfo"
        )
        copy_rows(cursor, table, rows)


def upsert_in_batches(rows, batch: int):
    from etfs.sync.upsert import UpsertResult, upsert_daily_bars

    total = UpsertResult()
    for start in range(0, len(rows), batch):
        total += upsert_daily_bars(rows[start : start + batch])
    return total


def one_round(rows, new_rows, batch: int, copy_first: bool) -> dict[str, float]:
    """One repetition on an empty bars table; raw COPY before or after the first upsert."""
    from django.db import connection

    from etfs.models import DailyBar

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {DailyBar._meta.db_table} CASCADE")
    times = {}
    if copy_first:
        with timed("raw COPY", times):
            raw_copy(rows)
    with timed("upsert (empty table)", times):
        first = upsert_in_batches(rows, batch)
    if not copy_first:
        with timed("raw COPY", times):
            raw_copy(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE etfs_dailybar")
    with timed("upsert (all unchanged)", times):
        again = upsert_in_batches(rows, batch)
    with timed("upsert (1 new bar per fund)", times):
        fresh = upsert_in_batches(new_rows, batch)
    assert first.inserted == len(rows) and again.inserted == again.updated == 0, (first, again)
    assert fresh.inserted == len(new_rows)
    assert DailyBar.objects.count() == len(rows) + len(new_rows)
    times["written again"] = again.inserted + again.updated
    return times


LABELS = {
    "raw COPY": "raw COPY into an empty table of the same shape",
    "upsert (empty table)": "upsert into the empty table (like for like)",
    "upsert (all unchanged)": "unchanged re-run: read and compare, 0 rows written",
    "upsert (1 new bar per fund)": "1 new bar per fund into the full table",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--funds", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50_000, help="rows per upsert transaction")
    parser.add_argument("--rounds", type=int, default=5, help="repetitions, alternating order")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from etfs.models import StockInfo

    securities = StockInfo.objects.bulk_create(
        StockInfo(code=f"{510000 + i:06d}", exchange="XSHG", name=f"ETF{i}", is_etf=True)
        for i in range(args.funds)
    )
    ids = [security.pk for security in securities]
    days = args.bars // args.funds
    rows = make_rows(ids, days, dt.date(2000, 1, 1))
    new_rows = make_rows(ids, 1, dt.date(2000, 1, 1), shift=days)
    loads = [load()]
    rounds = [one_round(rows, new_rows, args.batch, n % 2 == 0) for n in range(args.rounds)]
    loads.append(load())
    print(
        f"machine: {machine()}; PostgreSQL {connection.pg_version // 10000}; "
        f"{len(rows):,} bars of {args.funds} funds, batches of {args.batch:,} rows; "
        f"{args.rounds} rounds, raw COPY first in odd ones; {loads[0]} -> {loads[1]}"
    )
    raw_rate = len(rows) / median_and_spread([r["raw COPY"] for r in rounds])[0]
    for label, text in LABELS.items():
        count = len(new_rows) if "1 new" in label else len(rows)
        seconds, low, high = median_and_spread([r[label] for r in rounds])
        ratio = count / seconds / raw_rate
        print(
            f"{text:52} {seconds:7.2f} s (spread {low:.2f}-{high:.2f}) "
            f"{count / seconds:11,.0f} rows/s {ratio:5.2f} x raw COPY's rate"
        )
    print(
        "the unchanged re-run's ratio is not like for like: it reads and compares rows that "
        "COPY would write; it shows that an unchanged history costs less than writing it again"
    )
    print(f"unchanged re-runs wrote {max(r['written again'] for r in rounds)} rows")


if __name__ == "__main__":
    main()
