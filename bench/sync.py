"""Sync benchmark: etfsync against the fair naive way, same run, same local source.

    .venv/bin/python bench/sync.py [--funds 300] [--days 1460] [--latency 0.03] [--rounds 3]

Starts tests/fakes/eastmoney.py in its own process (its data and CPU do not count in the
measured processes' memory) with ``--latency`` per request, stores its ETF list in the
PostgreSQL database of BENCH_DATABASE_URL (recreated), then measures, each in a fresh child
process against an empty bars table:

- the fair naive way (bench/naive.py: the list paged, k-lines one fund after another, one
  ``INSERT ... ON CONFLICT DO UPDATE`` transaction per fund);
- etfsync's full-history price sync at each ``--concurrency``, then the unchanged re-run of the
  same history (it must write 0 rows), the daily update from one list pass, and a raw COPY of
  the bars it stored (the database's own speed limit, measured in the same child);
- the same sync on SQLite at the highest concurrency.

Every round runs each side once; odd rounds run them in the reverse order, so load from the
rest of the machine falls on both sides alike. Medians and the spread (min-max) are printed.
Then, once: the seed's ``update_or_create`` loop on ``--orm-funds`` funds (scaled), and the
polite check (the default rate limit, ``--polite-funds`` k-line requests: elapsed time over
requests / rate).
"""

import argparse
import datetime as dt
import io
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import load, machine, median_and_spread, peak_rss_mb, setup_django  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST = dt.date(1990, 1, 1)
SQLITE_URL = f"sqlite:///{tempfile.gettempdir()}/etfsync_bench_sync.sqlite3"


def start_fake(port: int, funds: int, days: int, latency: float, end: dt.date):
    command = [sys.executable, "-m", "tests.fakes.eastmoney", "--port", str(port)]
    command += ["--funds", str(funds), "--days", str(days), "--latency", str(latency)]
    command += ["--end", end.isoformat()]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    process.stdout.readline()  # the ready line
    url = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(url + "/api/qt/clist/get?pn=1&pz=1&np=1&fltt=2", timeout=30).read()
    return process, url


# --- the measured sides, each run in a child process --------------------------------------


def measure_etfsync(args) -> dict:
    """Full history into an empty bars table, the unchanged re-run, the daily update, raw COPY."""
    from etfs.sync.prices import PriceOptions, sync_etf_prices

    end = dt.date.fromisoformat(args.end)
    now = dt.datetime.combine(end, dt.time(16, 0), SHANGHAI)
    day_before = _empty_bars_table(args)
    began = time.perf_counter()
    run = sync_etf_prices(PriceOptions(start=FIRST, end=day_before), now=now)
    seconds = time.perf_counter() - began
    result = {"seconds": seconds, "bars": run.rows_created, "status": run.status}
    result["rss_mb"] = peak_rss_mb()
    began = time.perf_counter()
    again = sync_etf_prices(PriceOptions(start=FIRST, end=day_before), now=now)
    result["rerun_seconds"] = time.perf_counter() - began
    result["rerun_written"] = again.rows_created + again.rows_updated
    began = time.perf_counter()
    daily = sync_etf_prices(PriceOptions(from_list=True), now=now)
    result["daily_seconds"] = time.perf_counter() - began
    result["daily_created"] = daily.rows_created
    if not args.database.startswith("sqlite:"):
        result["copy_seconds"] = _raw_copy_of_stored_bars(day_before)
    return result


def _empty_bars_table(args) -> dt.date:
    """Empty the bars (or, on SQLite, build the database and store the list); the day the
    full history ends."""
    from django.core.management import call_command
    from django.db import connection

    from etfs.models import DailyBar
    from etfs.sync.calendar import previous_trading_day
    from etfs.sync.lists import sync_etf_lists

    if args.database.startswith("sqlite:"):
        sync_etf_lists()
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {DailyBar._meta.db_table} CASCADE")
        # The securities' bar summaries recounted for the emptied table (and ANALYZE): kept
        # from the previous side's run, they said every fund was up to date with its last
        # day, so the daily update of every side but the first fetched nothing.
        call_command("refresh_freshness", stdout=io.StringIO())
    return previous_trading_day(dt.date.fromisoformat(args.end))


def _raw_copy_of_stored_bars(last_day: dt.date) -> float:
    """Seconds to COPY the bars just stored into an empty table of the same shape."""
    from bench.ingest import raw_copy
    from etfs.models import DailyBar
    from etfs.providers.base import Bar

    columns = ("trade_date", "open", "high", "low", "close", "volume", "amount")
    rows = [
        (values[0], Bar(*values[1:]))
        for values in DailyBar.objects.filter(trade_date__lte=last_day)
        .order_by("security_id", "trade_date")
        .values_list("security_id", *columns)
        .iterator(chunk_size=10_000)
    ]
    began = time.perf_counter()
    raw_copy(rows)
    return time.perf_counter() - began


def measure_fair_naive(args) -> dict:
    from django.conf import settings

    from bench.naive import create_table, fair_naive_sync

    day_before = _empty_bars_table(args)
    create_table(_psycopg_url(args.database))
    urls = (settings.ETFSYNC_EASTMONEY_PUSH2_URL, settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL)
    began = time.perf_counter()
    bars = fair_naive_sync(urls, _psycopg_url(args.database), FIRST, day_before)
    return {"seconds": time.perf_counter() - began, "bars": bars, "rss_mb": peak_rss_mb()}


def measure_orm_naive(args) -> dict:
    from django.conf import settings

    from bench.naive import orm_naive_sync
    from etfs.models import StockInfo

    day_before = _empty_bars_table(args)
    urls = (settings.ETFSYNC_EASTMONEY_PUSH2_URL, settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL)
    codes = set(sorted(StockInfo.objects.values_list("code", flat=True))[: args.orm_funds])
    began = time.perf_counter()
    bars = orm_naive_sync(urls, codes, FIRST, day_before)
    seconds = time.perf_counter() - began
    scale = StockInfo.objects.count() / len(codes)
    return {"seconds": seconds * scale, "bars": round(bars * scale), "funds": len(codes)}


def measure_polite(args) -> dict:
    """The default rate limit against a local server that counts the requests it answers."""
    from django.conf import settings

    from etfs.models import StockInfo
    from etfs.sync.prices import PriceOptions, sync_etf_prices
    from tests.fakes.eastmoney import FakeEastmoney, make_funds

    end = dt.date.fromisoformat(args.end)
    server = FakeEastmoney(make_funds(args.polite_funds, end - dt.timedelta(days=60), end))
    server.latency = args.latency
    url = server.start()
    settings.ETFSYNC_EASTMONEY_PUSH2_URL = settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = url
    codes = tuple(sorted(fund.code for fund in server.funds.values()))
    assert StockInfo.objects.filter(code__in=codes).count() == len(codes)
    now = dt.datetime.combine(end, dt.time(16, 0), SHANGHAI)
    try:
        began = time.perf_counter()
        run = sync_etf_prices(PriceOptions(codes=codes, start=FIRST), now=now)
        seconds = time.perf_counter() - began
    finally:
        server.stop()
    return {
        "seconds": seconds,
        "requests": len(server.requests),
        "rate": settings.ETFSYNC_RATE_LIMIT,
        "status": run.status,
    }


def _psycopg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


SIDES = {
    "etfsync": measure_etfsync,
    "fair-naive": measure_fair_naive,
    "orm-naive": measure_orm_naive,
    "polite": measure_polite,
}


def run_child(args, side: str, *, concurrency: int = 8, database: str = "", polite=False) -> dict:
    """Measure one side in a fresh process (its own peak RSS, no warm caches of another)."""
    database = database or args.database
    command = [sys.executable, __file__, "--child", side, "--database", database]
    for name in ("end", "latency", "orm_funds", "polite_funds"):
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    env = {**os.environ, "ETFSYNC_CONCURRENCY": str(concurrency)}
    if polite:
        env.pop("ETFSYNC_RATE_LIMIT")
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode:
        raise SystemExit(f"{side} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the parent: set up once, alternate the sides, print -----------------------------------


def prepare(args, url: str) -> None:
    """Environment every child inherits, a fresh database with the fake's ETF list stored."""
    os.environ["ETFSYNC_EASTMONEY_PUSH2_URL"] = url
    os.environ["ETFSYNC_EASTMONEY_PUSH2HIS_URL"] = url
    # The local server does not ban: lift the politeness limit to measure the pipeline.
    os.environ["ETFSYNC_RATE_LIMIT"] = "0"
    os.environ["ETFSYNC_RATE_LIMIT_DIR"] = tempfile.mkdtemp(prefix="etfsync-bench-rate-")
    setup_django(args.database)
    from django.db import connection

    from etfs.sync.lists import sync_etf_lists

    sync_etf_lists()
    connection.close()


def measure_rounds(args) -> dict[str, list[dict]]:
    """Each round runs every side once; odd rounds in the reverse order."""
    sides = [("fair-naive", {})]
    sides += [(f"etfsync c{c}", {"concurrency": c}) for c in args.concurrency]
    sides.append((f"etfsync SQLite c{max(args.concurrency)}", {"database": SQLITE_URL}))
    results: dict[str, list[dict]] = {label: [] for label, _ in sides}
    for round_number in range(args.rounds):
        ordered = sides if round_number % 2 == 0 else sides[::-1]
        for label, options in ordered:
            if "SQLite" in label:
                options = {**options, "concurrency": max(args.concurrency)}
            side = "fair-naive" if label == "fair-naive" else "etfsync"
            results[label].append(run_child(args, side, **options))
            print(f"  round {round_number + 1} {label}: {results[label][-1]['seconds']:.1f} s")
    return results


def summary(values: list[float], unit: str = "s", digits: int = 1) -> str:
    median, low, high = median_and_spread(values)
    spread = f"{low:,.{digits}f}-{high:,.{digits}f}"
    return f"{median:,.{digits}f} {unit} (spread {spread}, n={len(values)})"


def report(args, results: dict[str, list[dict]], orm: dict, polite: dict, loads) -> None:
    naive = results["fair-naive"]
    bars = naive[0]["bars"]
    naive_median = median_and_spread([r["seconds"] for r in naive])[0]
    print(f"\nmachine: {machine()}; {loads[0]} at the start, {loads[1]} at the end")
    print(
        f"{args.funds} ETFs x {bars // args.funds} bars = {bars:,} bars, latency "
        f"{args.latency * 1000:.0f} ms, rate limit lifted, {args.rounds} rounds alternated"
    )
    print(
        "fair naive way (sequential requests, ON CONFLICT per fund): "
        f"{summary([r['seconds'] for r in naive])} = {bars / naive_median:,.0f} bars/s"
    )
    for label, runs in results.items():
        if label == "fair-naive":
            continue
        seconds = [r["seconds"] for r in runs]
        median = median_and_spread(seconds)[0]
        ratios = [naive_median / value for value in seconds]
        print(
            f"{label}: {summary(seconds)} = {bars / median:,.0f} bars/s; "
            f"{summary(ratios, 'x', 2)} the fair naive way; status {runs[0]['status']}"
        )
    _report_details(results, bars, orm, polite)


def _report_details(results, bars: int, orm: dict, polite: dict) -> None:
    postgres = [runs for label, runs in results.items() if label.startswith("etfsync c")]
    best = postgres[-1]
    sqlite = next(runs for label, runs in results.items() if "SQLite" in label)
    rates = [bars / r["seconds"] for r in best]
    copy_rates = [bars / r["copy_seconds"] for r in best]
    print(
        f"end-to-end {summary(rates, 'bars/s', 0)} vs raw COPY {summary(copy_rates, 'rows/s', 0)}"
        f": {median_and_spread(rates)[0] / median_and_spread(copy_rates)[0]:.2f} x raw COPY"
    )
    pg_seconds = median_and_spread([r["seconds"] for r in best])[0]
    sqlite_seconds = median_and_spread([r["seconds"] for r in sqlite])[0]
    print(f"SQLite / PostgreSQL speed: {pg_seconds / sqlite_seconds:.2f} x")
    print(
        f"peak RSS of the sync: {summary([r['rss_mb'] for r in best], 'MB', 0)}; "
        f"SQLite {summary([r['rss_mb'] for r in sqlite], 'MB', 0)}"
    )
    written = [r["rerun_written"] for runs in (*postgres, sqlite) for r in runs]
    print(
        f"unchanged re-run of the whole history: {summary([r['rerun_seconds'] for r in best])}"
        f", rows written {max(written)} (all runs, PostgreSQL and SQLite)"
    )
    print(
        f"daily update from one list pass: {summary([r['daily_seconds'] for r in best], 's', 2)}"
        f", {best[0]['daily_created']} bars"
    )
    print(
        f"seed's way (sequential, update_or_create per row), {orm['funds']} ETFs scaled, 1 run: "
        f"{orm['seconds']:,.0f} s = {orm['bars'] / orm['seconds']:,.0f} bars/s"
    )
    ideal = polite["requests"] / polite["rate"]
    print(
        f"polite rate ({polite['rate']:g} request/s): {polite['requests']} requests in "
        f"{polite['seconds']:.1f} s = {polite['seconds'] / ideal:.2f} x requests / rate"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--funds", type=int, default=300)
    parser.add_argument("--days", type=int, default=1460, help="calendar days (~1000 bars)")
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--orm-funds", type=int, default=10, help="funds of the seed's way")
    parser.add_argument("--polite-funds", type=int, default=15)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--end", default="2026-11-20", help="the day of the daily update")
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/etfsync_bench"
        ),
    )
    parser.add_argument("--child", choices=sorted(SIDES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sqlite = args.database.startswith("sqlite:")
        setup_django(args.database, fresh=sqlite)
        print(json.dumps(SIDES[args.child](args)))
        return
    end = dt.date.fromisoformat(args.end)
    # The fake sets Django up (for the calendar); DEBUG off wants a real key.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    process, url = start_fake(args.port, args.funds, args.days, args.latency, end)
    try:
        loads = [load()]
        prepare(args, url)
        results = measure_rounds(args)
        orm = run_child(args, "orm-naive")
        polite = run_child(args, "polite", polite=True)
        loads.append(load())
    finally:
        process.terminate()
        process.wait()
    report(args, results, orm, polite, loads)


if __name__ == "__main__":
    main()
