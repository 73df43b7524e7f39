"""Sync benchmark: full history and daily update against a local Eastmoney with latency.

    .venv/bin/python bench/sync.py [--funds 1000] [--days 1460] [--latency 0.03]

Starts tests/fakes/eastmoney.py in a separate process (so its data does not count in this
process's memory), syncs into the PostgreSQL database in BENCH_DATABASE_URL (recreated), and
compares with the naive way (one request after another, update_or_create per row) on a subset.
"""

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, peak_rss_mb, setup_django  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")


def start_fake(port: int, funds: int, days: int, latency: float, end: dt.date):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.eastmoney",
            "--port",
            str(port),
            "--funds",
            str(funds),
            "--days",
            str(days),
            "--latency",
            str(latency),
            "--end",
            end.isoformat(),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    process.stdout.readline()  # the ready line
    url = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(url + "/api/qt/clist/get?pn=1&pz=1&np=1&fltt=2", timeout=30).read()
    return process, url


def configure(url: str, concurrency: int) -> None:
    from django.conf import settings

    settings.ETFSYNC_EASTMONEY_PUSH2_URL = url
    settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = url
    # The local server does not ban: lift the politeness limit to measure the pipeline.
    settings.ETFSYNC_RATE_LIMIT = 0
    settings.ETFSYNC_CONCURRENCY = concurrency


def naive_sync(codes, start: dt.date, end: dt.date, now) -> float:
    """One request after another and update_or_create per row: what the seed did."""
    from etfs.models import DailyBar, StockInfo
    from etfs.providers.base import DailyBarSource
    from etfs.sync.sources import provider_for

    client = provider_for(DailyBarSource)
    began = time.perf_counter()
    for security in StockInfo.objects.filter(code__in=codes):
        series = client.daily_bars(security.code, security.exchange, start, end, now.date())
        for bar in series.bars:
            DailyBar.objects.update_or_create(
                security=security,
                trade_date=bar.trade_date,
                defaults={
                    "open": bar.open,
                    "high": bar.high,
                    "low": bar.low,
                    "close": bar.close,
                    "volume": bar.volume,
                    "amount": bar.amount,
                },
            )
    return time.perf_counter() - began


def scenario(args) -> dict:
    """Run in a child process: one fresh database, one fake server, all measurements."""
    from etfs.sync.calendar import previous_trading_day

    end = dt.date.fromisoformat(args.end)
    setup_django()
    process, url = start_fake(args.port, args.funds, args.days, args.latency, end)
    try:
        configure(url, args.concurrency)
        from etfs.models import DailyBar, StockInfo
        from etfs.sync.lists import sync_etf_lists
        from etfs.sync.prices import PriceOptions, sync_etf_prices

        now = dt.datetime.combine(end, dt.time(16, 0), SHANGHAI)
        sync_etf_lists()
        first = dt.date(1990, 1, 1)
        day_before = previous_trading_day(end)
        began = time.perf_counter()
        run = sync_etf_prices(PriceOptions(start=first, end=day_before), now=now)
        full_seconds = time.perf_counter() - began
        rss_after_full = peak_rss_mb()
        bars = DailyBar.objects.count()
        began = time.perf_counter()
        daily = sync_etf_prices(PriceOptions(from_list=True), now=now)
        daily_seconds = time.perf_counter() - began
        results = {
            "funds": StockInfo.objects.count(),
            "bars": bars,
            "full_seconds": full_seconds,
            "full_status": run.status,
            "rss_mb": rss_after_full,
            "daily_seconds": daily_seconds,
            "daily_status": daily.status,
            "daily_created": daily.rows_created,
        }
        if args.naive:
            subset = sorted(StockInfo.objects.values_list("code", flat=True))[: args.naive]
            DailyBar.objects.filter(security__code__in=subset).delete()
            naive_seconds = naive_sync(subset, first, day_before, now)
            results["naive_seconds_scaled"] = naive_seconds * results["funds"] / len(subset)
        return results
    finally:
        process.terminate()
        process.wait()


def run_child(args, days: int, naive: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--funds",
        str(args.funds),
        "--days",
        str(days),
        "--latency",
        str(args.latency),
        "--concurrency",
        str(args.concurrency),
        "--naive",
        str(naive),
        "--port",
        str(args.port),
        "--end",
        args.end,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--funds", type=int, default=1000)
    parser.add_argument("--days", type=int, default=1460, help="calendar days (~1000 bars)")
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--naive", type=int, default=20, help="funds in the naive subset")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--end", default="2026-11-20", help="the day of the daily update")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(scenario(args)))
        return
    big = run_child(args, args.days, args.naive)
    half = run_child(args, args.days // 2, 0)
    print(
        f"machine: {machine()}; {big['funds']} ETFs, latency {args.latency * 1000:.0f} ms, "
        f"{args.concurrency} requests in flight, rate limit lifted"
    )
    print(
        f"full history: {big['bars']:,} bars in {big['full_seconds']:.1f} s "
        f"({big['bars'] / big['full_seconds']:,.0f} bars/s), run {big['full_status']}"
    )
    ratio = big["naive_seconds_scaled"] / big["full_seconds"]
    print(
        f"naive way (sequential, update_or_create), scaled from {args.naive} ETFs: "
        f"{big['naive_seconds_scaled']:.0f} s -> {ratio:.1f}x faster"
    )
    print(
        f"peak RSS: {big['rss_mb']:.0f} MB with {big['bars'] // big['funds']} bars/ETF, "
        f"{half['rss_mb']:.0f} MB with {half['bars'] // half['funds']} bars/ETF"
    )
    print(
        f"daily update of {big['funds']} ETFs one day behind: {big['daily_seconds']:.2f} s "
        f"({big['daily_created']} bars), run {big['daily_status']}"
    )


if __name__ == "__main__":
    main()
