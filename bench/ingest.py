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

from bench.common import machine, setup_django, timed  # noqa: E402


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--funds", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50_000, help="rows per upsert transaction")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from etfs.models import DailyBar, StockInfo

    securities = StockInfo.objects.bulk_create(
        StockInfo(code=f"{510000 + i:06d}", exchange="XSHG", name=f"ETF{i}", is_etf=True)
        for i in range(args.funds)
    )
    ids = [security.pk for security in securities]
    days = args.bars // args.funds
    rows = make_rows(ids, days, dt.date(2000, 1, 1))
    n = len(rows)
    times = {}
    with timed("raw COPY", times):
        raw_copy(rows)
    with timed("upsert (empty table)", times):
        first = upsert_in_batches(rows, args.batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE etfs_dailybar")
    with timed("upsert (all unchanged)", times):
        again = upsert_in_batches(rows, args.batch)
    new_rows = make_rows(ids, 1, dt.date(2000, 1, 1), shift=days)
    with timed("upsert (1 new bar per fund)", times):
        fresh = upsert_in_batches(new_rows, args.batch)
    assert first.inserted == n and again.inserted == again.updated == 0, (first, again)
    assert fresh.inserted == len(new_rows)
    assert DailyBar.objects.count() == n + len(new_rows)

    print(
        f"machine: {machine()}; PostgreSQL {connection.pg_version // 10000}; "
        f"{n:,} bars of {args.funds} funds, batches of {args.batch:,} rows"
    )
    raw_rate = n / times["raw COPY"]
    for label, count in (
        ("raw COPY", n),
        ("upsert (empty table)", n),
        ("upsert (all unchanged)", n),
        ("upsert (1 new bar per fund)", len(new_rows)),
    ):
        rate = count / times[label]
        ratio = rate / raw_rate
        print(f"{label:30} {times[label]:8.2f} s {rate:12,.0f} rows/s  {ratio:5.2f} x raw COPY")
    print(f"unchanged re-run wrote {again.inserted + again.updated} rows")


if __name__ == "__main__":
    main()
