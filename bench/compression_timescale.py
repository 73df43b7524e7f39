"""Compression on TimescaleDB: bytes per bar before and after the project's compression policy.

    (cd tests/timescale && npm ci)
    .venv/bin/python bench/compression_timescale.py [--securities 1000] [--bars 1000000]
        [--alternatives]

Starts the test lane's PGlite server (PostgreSQL 17 + TimescaleDB 2.23 in WASM, in memory) and
migrates it: the bars table is the migration's hypertable (1-year chunks, segmented by security,
ordered by trade date, compressed after ``ETFSYNC_COMPRESS_AFTER_DAYS``). It fills ``--bars``
bars over ``--securities`` securities on the shipped calendar's trading days up to the last one
before today, with bench/market_fill.py's history lengths (one security with the whole calendar,
most of them young) and prices that look like the market's: a random walk of daily returns
(1.5 %, clipped at the 10 % limit) on 0.01 ticks for stocks and 0.001 for ETFs, an opening gap,
highs and lows beyond them, log-normal volumes in lots of 100, turnover at a price between low
and high. Then it runs the migration's compression policy job (as TimescaleDB's scheduler would)
and prints the sizes before and after (table, indexes and TOAST, from ``hypertable_detailed_size``
and ``chunk_compression_stats``), bytes per bar, the time the job took and reads of one
security's history and of one day across securities before and after (median of 5).
``--alternatives`` builds the same bars again in hypertables with other compression settings
(one at a time, compressed the same way) and prints their sizes and reads.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import load, machine  # noqa: E402
from bench.ingest_timescale import execute, on_pglite  # noqa: E402

TABLE = "etfs_dailybar"
COLUMNS = "security_id, trade_date, open, high, low, close, volume, amount"
# Securities per INSERT ... SELECT of the fill: bounds the sort of its window function.
FILL_BATCH = 250
READS = 5
# Other settings measured with --alternatives: label, segmentby, orderby, more compression
# options, prices and amount as scaled integers (bigint ten-thousandths, amount thousandths).
ALTERNATIVES = [
    ("segmentby security_id, orderby trade_date DESC", "security_id", "trade_date DESC", "", False),
    ("no segmentby, orderby security_id, trade_date", "", "security_id, trade_date", "", False),
    (
        "as the migration, chunks rolled up to 4 years when compressed",
        "security_id",
        "trade_date",
        ", timescaledb.compress_chunk_time_interval = '{4 chunks}'",
        False,
    ),
    ("as the migration, prices and amount as scaled bigint", "security_id", "trade_date", "", True),
]


def fill(securities: int, bars: int) -> tuple[list[int], list[dt.date]]:
    """The securities and their bars; their ids (the longest history first) and the days."""
    from bench.market_fill import _securities, history_lengths
    from etfs.models import StockInfo, TradingDay

    days = list(
        TradingDay.objects.open()
        .filter(date__lt=dt.date.today())
        .order_by("-date")
        .values_list("date", flat=True)
    )
    ids = _securities(securities, batch_size=200)
    lengths = history_lengths(len(ids), bars, len(days))
    etfs = set(StockInfo.objects.filter(is_etf=True).values_list("pk", flat=True))
    # Plain tables: the PGlite socket server loses temporary ones between statements. Small
    # statements (the securities above too): pglite-socket 0.0.19 crashes on a message longer
    # than one read from its socket, about 64 kB (electric-sql/pglite#775, fixed in #873).
    execute(
        "CREATE TABLE bench_days AS SELECT (row_number() OVER (ORDER BY date DESC) - 1)::integer"
        f" AS r, date FROM etfs_tradingday WHERE is_open AND date < '{dt.date.today()}'"
    )
    execute("ALTER TABLE bench_days ADD PRIMARY KEY (r)")
    execute(
        "CREATE TABLE bench_plan (id bigint, n integer, lag integer, gap boolean,"
        " digits integer, base float8, lots float8)"
    )
    execute("SELECT setseed(0.25)")
    from django.db import connection

    with connection.cursor() as cursor:
        # Per security: bars, days behind (2 %), a missing day in 97 (1 %), price tick, a
        # starting price and a typical volume in lots.
        plan = [
            (pk, n, (k * 37 % 5) + 1 if k % 50 == 7 else 0, k % 100 == 3, 3 if pk in etfs else 2)
            for k, (pk, n) in enumerate(zip(ids, lengths, strict=True))
        ]
        for start in range(0, len(plan), 500):
            cursor.execute(
                "INSERT INTO bench_plan SELECT id, n, lag, gap, digits,"
                " CASE WHEN digits = 3 THEN 0.8 + 4 * random() ELSE 3 + 40 * random() END,"
                " exp(ln(2000) + 2.5 * random())"
                " FROM unnest(%s::bigint[], %s::integer[], %s::integer[], %s::boolean[],"
                " %s::integer[]) WITH ORDINALITY AS t(id, n, lag, gap, digits, k) ORDER BY k",
                [list(column) for column in zip(*plan[start : start + 500], strict=True)],
            )
        for start in range(0, len(ids), FILL_BATCH):
            cursor.execute(
                f"""
                INSERT INTO {TABLE} ({COLUMNS})
                SELECT id, date, open, greatest(open, close, high), least(open, close, low),
                       close, volume, round(volume * (low + (high - low) * u), 2)
                FROM (
                    SELECT id, date, u, close, volume,
                           round(close * gap, digits) AS open,
                           round(greatest(close, close * gap) * up, digits) AS high,
                           round(least(close, close * gap) * down, digits) AS low
                    FROM (
                        SELECT id, date, digits, u, gap, up, down,
                               greatest(round((base * exp(sum(ret) OVER (PARTITION BY id
                                   ORDER BY date)))::numeric, digits), 0.05) AS close,
                               (round(lots * exp(noise)) * 100)::bigint AS volume
                        FROM (
                            SELECT p.id, d.date, p.digits, p.base, p.lots,
                                   least(greatest(random_normal(0, 0.015), -0.095), 0.095)
                                       AS ret,
                                   exp(random_normal(0, 0.005))::numeric AS gap,
                                   (1 + abs(random_normal(0, 0.008)))::numeric AS up,
                                   (1 - abs(random_normal(0, 0.008)))::numeric AS down,
                                   random_normal(0, 0.5) AS noise,
                                   random()::numeric AS u
                            FROM bench_plan AS p
                            JOIN bench_days AS d ON d.r >= p.lag AND d.r < p.lag + p.n
                            WHERE NOT (p.gap AND d.r %% 97 = 13)
                                AND p.id = ANY(%s)
                        ) AS drawn
                    ) AS walked
                ) AS priced
                ORDER BY id, date
                """,
                [ids[start : start + FILL_BATCH]],
            )
    execute("DROP TABLE bench_days, bench_plan")
    execute(f"ANALYZE {TABLE}")
    return ids, days


def sizes(table: str) -> tuple[int, int, int, int]:
    """Table, index, TOAST and total bytes of the hypertable, its compressed chunks included."""
    return execute(
        f"SELECT table_bytes, index_bytes, toast_bytes, total_bytes"
        f" FROM hypertable_detailed_size('{table}')"
    )[0]


def rows_per_chunk(table: str) -> dict[str, int]:
    return dict(execute(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1"))


def compression_stats(table: str) -> tuple[int, int, int]:
    """Compressed chunks, their bytes before and after (table, indexes and TOAST)."""
    return execute(
        "SELECT count(*), coalesce(sum(before_compression_total_bytes), 0),"
        " coalesce(sum(after_compression_total_bytes), 0)"
        f" FROM chunk_compression_stats('{table}') WHERE compression_status = 'Compressed'"
    )[0]


def compressed_chunks(table: str) -> list[str]:
    return [
        name
        for (name,) in execute(
            "SELECT chunk_schema || '.' || chunk_name FROM timescaledb_information.chunks"
            f" WHERE hypertable_name = '{table}' AND is_compressed"
        )
    ]


def column_bytes(table: str) -> dict[str, int]:
    """Bytes of each column in the compressed chunks' rows (as stored: compressed, TOASTed)."""
    compressed = execute(
        "SELECT format('%I.%I', c.schema_name, c.table_name) FROM _timescaledb_catalog.chunk AS c"
        " JOIN _timescaledb_catalog.chunk AS parent ON parent.compressed_chunk_id = c.id"
        " JOIN _timescaledb_catalog.hypertable AS h ON h.id = parent.hypertable_id"
        f" WHERE h.table_name = '{table}'"
    )
    columns = [
        "id",
        *COLUMNS.split(", "),
    ]
    totals = dict.fromkeys(columns, 0)
    for (chunk,) in compressed:
        sums = ", ".join(f"coalesce(sum(pg_column_size({column})), 0)" for column in columns)
        for column, size in zip(columns, execute(f"SELECT {sums} FROM {chunk}")[0], strict=True):
            totals[column] += size
    return totals


def columns_line(table: str, bars: int, label: str) -> str:
    per_column = column_bytes(table)
    return (
        f"{label} "
        + ", ".join(f"{column} {size / bars:.1f}" for column, size in per_column.items())
        + f" (sum {sum(per_column.values()) / bars:.1f})"
    )


def median_ms(action) -> tuple[float, object]:
    times, result = [], None
    for _ in range(READS):
        began = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


def reads(table: str, security: int, day: dt.date) -> dict[str, tuple[float, object]]:
    """One security's history (fetched, and summed in the server: decompression without the
    transfer) and one day across securities; median milliseconds and the rows."""
    where = f"FROM {table} WHERE security_id = {security}"
    return {
        "history": median_ms(lambda: execute(f"SELECT {COLUMNS} {where} ORDER BY trade_date")),
        "summed": median_ms(lambda: execute(f"SELECT count(*), sum(close), sum(volume) {where}")),
        "day": median_ms(
            lambda: execute(
                f"SELECT {COLUMNS} FROM {table} WHERE trade_date = '{day}' ORDER BY security_id"
            )
        ),
    }


def server_memory() -> str:
    """Peak and current resident memory of the PGlite server (this process's node child)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
            status = (stat.parent / "status").read_text()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"server.mjs" in cmdline:
            kib = dict(
                (line.split(":")[0], int(line.split()[1]))
                for line in status.splitlines()
                if line.startswith(("VmHWM", "VmRSS"))
            )
            return f"peak {kib['VmHWM'] / 1024:,.0f} MiB, now {kib['VmRSS'] / 1024:,.0f} MiB"
    return "not found"


def run_policy() -> float:
    """The migration's compression policy job, once, as TimescaleDB's scheduler runs it
    (PGlite has no background workers); seconds it took."""
    ((job_id,),) = execute(
        "SELECT job_id FROM timescaledb_information.jobs"
        f" WHERE proc_name = 'policy_compression' AND hypertable_name = '{TABLE}'"
    )
    began = time.perf_counter()
    execute(f"CALL run_job({job_id})")
    return time.perf_counter() - began


def size_line(label: str, total: int, bars: int) -> str:
    return f"  {label:44} {total / 2**20:9.1f} MiB {total / bars:7.1f} B/bar"


def measure(args) -> None:
    from django.conf import settings

    from etfs.models import DailyBar, StockInfo

    began = time.perf_counter()
    ids, days = fill(args.securities, args.bars)
    filled = time.perf_counter() - began
    n = DailyBar.objects.count()
    longest = StockInfo.objects.get(pk=ids[0])
    old_day = days[len(days) // 2]  # a day in the middle of the calendar: a compressed chunk
    per_chunk = rows_per_chunk(TABLE)
    before = sizes(TABLE)
    reads_before = reads(TABLE, longest.pk, old_day)
    bars_of = DailyBar.objects.filter(security=longest).order_by("trade_date")
    reads_before["resampled"] = median_ms(lambda: bars_of.resampled("week"))
    seconds = run_policy()
    compressed = compressed_chunks(TABLE)
    chunks, chunk_before, chunk_after = compression_stats(TABLE)
    in_compressed = sum(count for name, count in per_chunk.items() if name in compressed)
    after = sizes(TABLE)
    reads_after = reads(TABLE, longest.pk, old_day)
    reads_after["resampled"] = median_ms(lambda: bars_of.resampled("week"))
    for label in reads_before:
        assert reads_after[label][1] == reads_before[label][1], label

    ((version,),) = execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    print(f"{machine()}; {load()}")
    print(
        f"PGlite (PostgreSQL 17, WASM) with TimescaleDB {version}: {n:,} bars of "
        f"{args.securities:,} securities, {days[-1]} to {days[0]}, filled in {filled:.0f} s; "
        f"{len(per_chunk)} chunks of 1 year"
    )
    print(
        f"compression policy (segmentby security_id, orderby trade_date, after "
        f"{settings.ETFSYNC_COMPRESS_AFTER_DAYS} days): {seconds:.1f} s, {chunks} chunks with "
        f"{in_compressed:,} bars compressed ({in_compressed / seconds:,.0f} bars/s); "
        f"{len(per_chunk) - chunks} recent chunk(s) with {n - in_compressed:,} bars left as is"
    )
    for label, (table, index, toast, _) in (("before", before), ("after", after)):
        print(
            f"{label + ':':7} table {table / 2**20:.1f} MiB + indexes {index / 2**20:.1f} MiB "
            f"+ TOAST {toast / 2**20:.1f} MiB"
        )
    print(size_line("compressed chunks before", chunk_before, in_compressed))
    print(size_line("compressed chunks after", chunk_after, in_compressed))
    print(
        f"  {'compression ratio (chunk_compression_stats)':44} {chunk_before / chunk_after:9.1f} x"
    )
    print(size_line("whole hypertable before", before[3], n))
    print(size_line("whole hypertable after", after[3], n))
    print(columns_line(TABLE, in_compressed, "compressed columns, B/bar:"))
    print(f"reads, median of {READS} (before -> after compression, the same rows):")
    history = len(reads_after["history"][1])
    across = len(reads_after["day"][1])
    for label, text in (
        ("history", f"{longest.code}'s {history:,} bars by trade date"),
        ("summed", f"{longest.code}'s bars summed in the server"),
        ("resampled", f"{longest.code}'s bars resampled('week')"),
        ("day", f"{old_day}: {across:,} bars across securities"),
    ):
        print(f"  {text:44} {reads_before[label][0]:7.1f} -> {reads_after[label][0]:7.1f} ms")
    print(f"PGlite server memory: {server_memory()}")
    if args.alternatives:
        print("other settings (the same bars in a new hypertable, the same chunks compressed):")
        for alternative in ALTERNATIVES:
            measure_alternative(*alternative, longest.pk, old_day, reads_after, in_compressed)
        print(f"PGlite server memory: {server_memory()}")


def measure_alternative(label, segmentby, orderby, extra, scaled, security, day, expected, bars):
    from django.conf import settings

    name = "bench_alt_bars"
    execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING ALL)")
    values = "open, high, low, close, amount"
    if scaled:
        execute(
            f"ALTER TABLE {name} "
            + ", ".join(f"ALTER COLUMN {column} TYPE bigint" for column in values.split(", "))
        )
        values = "(open * 10000)::bigint, (high * 10000)::bigint, (low * 10000)::bigint,"
        values += " (close * 10000)::bigint, (amount * 1000)::bigint"
    execute(
        f"SELECT create_hypertable('{name}', 'trade_date',"
        " chunk_time_interval => INTERVAL '1 year', create_default_indexes => false)"
    )
    if "{4 chunks}" in extra:  # TimescaleDB takes '1 year' as a number of days here
        ((interval,),) = execute(
            "SELECT time_interval FROM timescaledb_information.dimensions"
            f" WHERE hypertable_name = '{name}'"
        )
        extra = extra.replace("{4 chunks}", f"{4 * interval.days} days")
    execute(
        f"ALTER TABLE {name} SET (timescaledb.compress,"
        f" timescaledb.compress_segmentby = '{segmentby}',"
        f" timescaledb.compress_orderby = '{orderby}'{extra})"
    )
    execute(
        f"INSERT INTO {name} (id, security_id, trade_date, open, high, low, close, amount,"
        f" volume) SELECT id, security_id, trade_date, {values}, volume FROM {TABLE}"
        " ORDER BY security_id, trade_date"
    )
    execute(f"ANALYZE {name}")
    began = time.perf_counter()
    execute(
        "SELECT compress_chunk(chunk) FROM show_chunks("
        f"'{name}', older_than => (now() - make_interval("
        f"days => {settings.ETFSYNC_COMPRESS_AFTER_DAYS}))::date) AS chunk"
    )
    seconds = time.perf_counter() - began
    chunks, chunk_before, chunk_after = compression_stats(name)
    measured = reads(name, security, day)
    for key, (_, rows) in measured.items():
        same = len(rows) == len(expected[key][1]) if scaled else rows == expected[key][1]
        assert same, (label, key)
    print(
        f"  {label}:\n    {chunks} chunks {chunk_before / 2**20:.1f} -> "
        f"{chunk_after / 2**20:.1f} MiB, {chunk_after / bars:.1f} B/bar "
        f"({chunk_before / chunk_after:.1f} x) in {seconds:.1f} s; history "
        f"{measured['history'][0]:.1f} ms, summed {measured['summed'][0]:.1f} ms, "
        f"day {measured['day'][0]:.1f} ms"
    )
    print(columns_line(name, bars, "    columns, B/bar:"))
    execute(f"DROP TABLE {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--securities", type=int, default=1000)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument(
        "--alternatives", action="store_true", help="measure other compression settings too"
    )
    on_pglite(measure, parser.parse_args())


if __name__ == "__main__":
    main()
