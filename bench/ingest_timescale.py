"""Ingest benchmark on TimescaleDB: the bar upsert into the hypertable against a raw COPY.

    (cd tests/timescale && npm ci)
    .venv/bin/python bench/ingest_timescale.py [--bars 100000] [--funds 100]

Starts the test lane's PGlite server (PostgreSQL 17 + TimescaleDB 2.23 compiled to WASM, one
connection, in memory) and migrates it, so the bars table is a hypertable with compression.
PGlite runs PostgreSQL single-process in a WASM runtime: compare the ratios, not the absolute
rates, with bench/ingest.py on a native server.
"""

import argparse
import datetime as dt
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, timed  # noqa: E402
from bench.ingest import make_rows, raw_copy, upsert_in_batches  # noqa: E402
from tests.timescale.pglite import missing_requirement, pglite_timescaledb  # noqa: E402


def setup_django(port: int) -> None:
    os.environ["DATABASE_URL"] = (
        f"postgres://postgres:postgres@127.0.0.1:{port}/postgres?sslmode=disable"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etfsync_site.settings")
    # DEBUG stays off (as in bench/common.py): off, a real key is required.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def execute(sql: str) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []


def revise(rows, every: int):
    """Every ``every``-th bar with a changed close and amount, as a revision would bring."""
    from decimal import Decimal

    from etfs.providers.base import Bar

    revised = []
    for security_id, bar in rows[::every]:
        close = bar.close + Decimal("0.001")
        revised.append(
            (
                security_id,
                Bar(bar.trade_date, bar.open, bar.high, bar.low, close, bar.volume, bar.amount + 1),
            )
        )
    return revised


def measure(args) -> None:
    from etfs.models import DailyBar, StockInfo

    securities = StockInfo.objects.bulk_create(
        StockInfo(code=f"{510000 + i:06d}", exchange="XSHG", name=f"ETF{i}", is_etf=True)
        for i in range(args.funds)
    )
    ids = [security.pk for security in securities]
    days = args.bars // args.funds
    rows = make_rows(ids, days, dt.date(2000, 1, 1))
    revised = revise(rows, 10)
    n = len(rows)
    times, counts = {}, {}

    def run(label, batch_rows):
        counts[label] = len(batch_rows)
        with timed(label, times):
            return upsert_in_batches(batch_rows, args.batch)

    raw_copy(rows[:1000])  # warm-up: the WASM runtime compiles hot code on first use
    with timed("raw COPY (plain table)", times):
        raw_copy(rows)
    counts["raw COPY (plain table)"] = n
    with timed("raw COPY (hypertable)", times):
        raw_copy(rows, "bench_raw_hyperbars", hypertable=True)
    counts["raw COPY (hypertable)"] = n
    first = run("upsert (empty hypertable)", rows)
    execute("ANALYZE etfs_dailybar")
    again = run("upsert (all unchanged)", rows)
    fresh = run("upsert (1 new bar per fund)", make_rows(ids, 1, dt.date(2000, 1, 1), shift=days))
    with timed("compress all chunks", times):
        chunks = execute(
            "SELECT compress_chunk(chunk, if_not_compressed => true)"
            " FROM show_chunks('etfs_dailybar') AS chunk"
        )
    counts["compress all chunks"] = n + args.funds
    compressed_again = run("upsert (unchanged, compressed)", rows)
    changed = run("upsert (10% revised, compressed)", revised)

    assert first.inserted == n and again.inserted == again.updated == 0, (first, again)
    assert fresh.inserted == args.funds
    assert compressed_again.inserted == compressed_again.updated == 0, compressed_again
    assert changed.updated == len(revised), changed
    assert DailyBar.objects.count() == n + args.funds

    from django.db import connection

    (version,) = execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")[0]
    print(
        f"machine: {machine()}; PGlite (PostgreSQL {connection.pg_version // 10000}, WASM) with "
        f"TimescaleDB {version}; "
        f"{n:,} bars of {args.funds} funds in {len(chunks)} chunks, batches of {args.batch:,} rows"
    )
    raw_rate = n / times["raw COPY (plain table)"]
    for label, seconds in times.items():
        rate = counts[label] / seconds
        print(
            f"{label:34} {seconds:8.2f} s {rate:12,.0f} rows/s  {rate / raw_rate:5.2f} x raw COPY"
        )
    print(
        f"unchanged re-runs wrote {again.inserted + again.updated} and "
        f"{compressed_again.inserted + compressed_again.updated} rows"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--funds", type=int, default=100)
    parser.add_argument("--batch", type=int, default=50_000, help="rows per upsert transaction")
    on_pglite(measure, parser.parse_args())


def on_pglite(measure, args) -> None:
    """Run ``measure(args)`` against the test lane's PGlite server, migrated."""
    problem = missing_requirement()
    if problem:
        sys.exit(problem)
    with pglite_timescaledb() as port:
        setup_django(port)
        try:
            measure(args)
        finally:
            from django.db import connection

            connection.close()


if __name__ == "__main__":
    main()
