"""A user's full-history run against the fair naive loop, both as a user runs them.

    .venv/bin/python bench/user_run.py [--funds 300] [--days 1460] [--latency 0.03] [--rounds 3]

bench/sync.py measures the price sync inside one warm process against an ETF list stored
beforehand. A user types commands instead, so here each side is what a user runs, timed from
outside, every process's start-up included, against the same local Eastmoney (its own process,
``--latency`` a request) and an emptied database:

- etfsync: ``manage.py sync_etf_lists`` then ``manage.py sync_etf_prices --full`` (the rate
  limit lifted, ``--concurrency`` requests in flight; the exchanges' lists are left out, as
  for any offline source: ``ETFSYNC_PROVIDERS`` names Eastmoney only);
- the fair naive loop: ``python bench/naive.py`` (page the list, each fund's k-lines one
  after another, one ``INSERT ... ON CONFLICT`` transaction per fund).

Each round runs both, every other round in reverse order; medians and the spread are printed,
with etfsync's time split into its two commands and the start-up of an empty command
(``manage.py check``) for reference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import load, machine, median_and_spread  # noqa: E402
from bench.naive import create_table  # noqa: E402
from bench.sync import start_fake  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/etfsync_bench_user"


def environment(args, url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": args.database,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "ETFSYNC_EASTMONEY_PUSH2_URL": url,
        "ETFSYNC_EASTMONEY_PUSH2HIS_URL": url,
        "ETFSYNC_PROVIDERS": "etfs.providers.eastmoney.EastmoneyClient",
        "ETFSYNC_RATE_LIMIT": "0",
        "ETFSYNC_RATE_LIMIT_DIR": tempfile.mkdtemp(prefix="etfsync-bench-rate-"),
        "ETFSYNC_CONCURRENCY": str(args.concurrency),
        "PYTHONPATH": str(ROOT),
    }


def timed(command: list[str], env: dict, usage: list | None = None) -> float:
    """Seconds a command takes; its own peak RSS (MB) and CPU seconds appended to ``usage``."""
    with tempfile.TemporaryFile() as errors:
        began = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, rusage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - began
        if os.waitstatus_to_exitcode(status):
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{errors.read()[-3000:].decode()}")
    if usage is not None:
        usage.append((rusage.ru_maxrss / 1024, rusage.ru_utime + rusage.ru_stime))
    return seconds


def empty_database(args, env: dict) -> None:
    """Recreate the database and migrate it (not timed: a user has done it once)."""
    import psycopg

    name = args.database.rsplit("/", 1)[1]
    server = args.database.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    timed([sys.executable, "manage.py", "migrate", "--verbosity", "0"], env)


def etfsync_side(args, env: dict) -> dict:
    empty_database(args, env)
    manage = [sys.executable, "manage.py"]
    lists = timed([*manage, "sync_etf_lists", "--no-progress"], env)
    usage = []
    command = [*manage, "sync_etf_prices", "--full", "--no-progress", "--end", args.last]
    prices = timed(command, env, usage)
    rss, cpu = usage[0]
    return {"seconds": lists + prices, "lists": lists, "prices": prices, "rss": rss, "cpu": cpu}


def naive_side(args, env: dict, url: str) -> dict:
    empty_database(args, env)
    # The naive loop needs the securities' ids: the list, stored as a user's own table would
    # be (not timed: etfsync's list sync is timed on its side).
    timed([sys.executable, "manage.py", "sync_etf_lists", "--no-progress"], env)
    database = args.database.replace("postgres://", "postgresql://", 1)
    create_table(database)
    command = [sys.executable, "bench/naive.py", url, url, database, "1990-01-01", args.last]
    return {"seconds": timed(command, env)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--funds", type=int, default=300)
    parser.add_argument("--days", type=int, default=1460, help="calendar days (~1000 bars)")
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-naive",
        action="store_true",
        help="etfsync only, with its peak memory (e.g. --funds 6800 --latency 0 --rounds 1)",
    )
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--end", default="2026-11-20", help="the fake market's last day")
    parser.add_argument(
        "--database", default=os.environ.get("BENCH_USER_DATABASE_URL", DEFAULT_URL)
    )
    args = parser.parse_args()
    # The fake sets Django up (for the calendar); DEBUG off wants a real key.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    end = dt.date.fromisoformat(args.end)
    args.last = (end - dt.timedelta(days=1)).isoformat()
    process, url = start_fake(args.port, args.funds, args.days, args.latency, end)
    loads = [load()]
    env = environment(args, url)
    results: dict[str, list[dict]] = {"naive": [], "etfsync": []}
    try:
        startup = [timed([sys.executable, "manage.py", "check"], env) for _ in range(3)]
        for round_number in range(args.rounds):
            order = ["naive", "etfsync"] if round_number % 2 == 0 else ["etfsync", "naive"]
            if args.no_naive:
                order = ["etfsync"]
            for side in order:
                result = naive_side(args, env, url) if side == "naive" else etfsync_side(args, env)
                results[side].append(result)
                print(f"  round {round_number + 1} {side}: {result['seconds']:.1f} s", flush=True)
    finally:
        process.terminate()
        process.wait()
    loads.append(load())
    report(args, results, startup, loads)


def summary(values: list[float], unit: str = "s", digits: int = 1) -> str:
    median, low, high = median_and_spread(values)
    return f"{median:,.{digits}f} {unit} ({low:,.{digits}f}-{high:,.{digits}f})"


def report(args, results, startup, loads) -> None:
    mine = [r["seconds"] for r in results["etfsync"]]
    print(f"\nmachine: {machine()}; {loads[0]} at the start, {loads[1]} at the end")
    print(
        f"{args.funds} ETFs, the fake's {args.days} calendar days, latency "
        f"{args.latency * 1000:.0f} ms, {args.concurrency} in flight, rate limit lifted, "
        f"{args.rounds} rounds alternated, median (min-max)"
    )
    if results["naive"]:
        print(f"fair naive loop (python bench/naive.py): {summary(naive_seconds(results))}")
    print(f"etfsync, both commands:                  {summary(mine)}")
    for name, label in (("lists", "sync_etf_lists"), ("prices", "sync_etf_prices --full")):
        values = [r[name] for r in results["etfsync"]]
        print(f"  manage.py {label + ':':<29} {summary(values)}")
    print(f"  (start-up of an empty command, manage.py check: {summary(startup, 's', 2)})")
    runs = results["etfsync"]
    print(f"  the price command's peak RSS: {summary([r['rss'] for r in runs], 'MB', 0)}")
    print(f"  the price command's CPU time: {summary([r['cpu'] for r in runs])}")
    if results["naive"]:
        naive_median = median_and_spread(naive_seconds(results))[0]
        ratios = [naive_median / value for value in mine]
        print(f"etfsync is {summary(ratios, 'x', 2)} the fair naive loop's speed")


def naive_seconds(results) -> list[float]:
    return [r["seconds"] for r in results["naive"]]


if __name__ == "__main__":
    main()
