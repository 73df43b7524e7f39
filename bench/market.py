"""Market-scale benchmark: every admin page and the daily work at 6,800 securities, 20 M bars.

    .venv/bin/python bench/market.py [--securities 6800] [--bars 20000000] [--rounds 5]

Fills the PostgreSQL database of ``--database`` (default BENCH_MARKET_DATABASE_URL, else
postgres://postgres@127.0.0.1:5432/etfsync_bench_market) set-based (bench/market_fill.py;
minutes at 20 M bars, reused while ``--securities`` and ``--bars`` stay the same), with
autovacuum off on it so that its statistics stay as this script leaves them. Then prints, as
the median (min-max) of ``--rounds`` rounds, every other round in reverse order:

- every admin page: each registered list, the securities and bars lists searched for an exact
  code, a partial code, a name and a fragment no code holds, filtered and sorted; the security
  page of the longest stock at each period and adjustment; a run's page; the front page.
  The bar searches twice: with fresh statistics (ANALYZE) and with none (``pg_statistic`` rows
  of the bar and security tables deleted: a server without autovacuum after a bulk load);
- ``manage.py refresh_freshness`` and ``manage.py sync_etf_prices --dry-run``;
- one new day for every security through the price sync's writer (``BarBatches``: the upsert,
  the summaries, the jump check), each round on the same day, deleted again after it;
- ``adjusted()`` and ``resampled()`` over the longest stock's bars.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import load, machine, median_and_spread, setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/etfsync_bench_market"
TABLES = ("etfs_dailybar", "etfs_stockinfo")


def prepare(args) -> None:
    """The filled database: reused when it holds what was asked, else recreated and filled."""
    from django.core.management import call_command
    from django.db import connection

    exists = _exists(args.database)
    setup_django(args.database, fresh=not exists)
    from bench import market_fill

    if exists and market_fill.filled(args.securities, args.bars):
        call_command("migrate", verbosity=0)  # migrations landed since the fill
        return
    name = args.database.rsplit("/", 1)[1]
    print(f"filling {name}: {args.securities:,} securities, {args.bars:,} bars", flush=True)
    if exists:
        connection.close()
        setup_django(args.database, fresh=True)
    from etfs.sync.calendar import newest_known_final_day, previous_trading_day

    market_fill.fill(args.securities, args.bars, previous_trading_day(newest_known_final_day()))


def _exists(url: str) -> bool:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return found is not None


# --- what is measured ----------------------------------------------------------------------


def admin_pages(longest, run_id: int, this_year: dt.date) -> list[tuple[str, str]]:
    """(label, url) of every page measured."""
    from django.contrib import admin
    from django.urls import reverse

    pages = [("front page", reverse("admin:index"))]
    for model in sorted(admin.site._registry, key=lambda model: model._meta.label):
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        pages.append((f"list {model._meta.label}", reverse(name)))
    securities = reverse("admin:etfs_stockinfo_changelist")
    bars = reverse("admin:etfs_dailybar_changelist")
    pages += [
        ("securities search exact code 600000", securities + "?q=600000"),
        ("securities search partial code 51005", securities + "?q=51005"),
        ("securities search name 'Security 42'", securities + "?q=Security+42"),
        ("securities search non-matching ETF", securities + "?q=ETF"),
        ("securities sorted by bars", securities + "?o=-7"),
        ("securities filter behind", securities + "?freshness=behind"),
        ("securities filter has gaps", securities + "?freshness=gaps"),
        ("bars search exact code 600000", bars + "?q=600000"),
        ("bars search partial code 51005", bars + "?q=51005"),
        ("bars search partial code 6000", bars + "?q=6000"),
        ("bars search non-matching ETF", bars + "?q=ETF"),
        ("bars filter this year", bars + f"?trade_date__gte={this_year}"),
        ("bars sorted by volume (not offered: stays by date)", bars + "?o=6"),
    ]
    page = reverse("admin:etfs_stockinfo_change", args=[longest.pk])
    pages += [
        (f"security page {longest.code} ({longest.bar_count:,} bars) daily", page),
        ("security page weekly", page + "?period=week"),
        ("security page monthly", page + "?period=month"),
        ("security page daily forward adjusted", page + "?adjust=qfq"),
        ("security page daily, page 100 of the bars", page + "?page=100"),
        ("run page", reverse("admin:etfs_syncrun_change", args=[run_id])),
        ("bar export form", reverse("admin:etfs_dailybar_export")),
    ]
    return pages


def measure_pages(client, pages, rounds: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {label: [] for label, _ in pages}
    for _, url in pages:  # one warm-up visit each: templates, the first connection
        _get(client, url)
    for round_number in range(rounds):
        for label, url in pages if round_number % 2 == 0 else pages[::-1]:
            began = time.perf_counter()
            _get(client, url)
            timings[label].append(time.perf_counter() - began)
    return timings


def _get(client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)


def drop_statistics() -> None:
    """As after a bulk load on a server without autovacuum: no statistics on the big tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM pg_statistic WHERE starelid = ANY(ARRAY[%s, %s]::regclass[])", TABLES
        )


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")


def one_day_write(day: dt.date):
    """A callable writing one bar on ``day`` for every security through the sync's writer,
    and one undoing it (the bars deleted, the summaries as they were)."""
    from django.db import connection

    from etfs.models import DailyBar, StockInfo, SyncKind, SyncRun, SyncTrigger
    from etfs.sync.freshness import SUMMARY
    from etfs.sync.prices.planning import FundPlan
    from etfs.sync.prices.writing import BarBatches
    from etfs.sync.runs import RunRecorder

    securities = list(StockInfo.objects.order_by("pk").values_list("pk", "code", "exchange"))
    summaries = list(StockInfo.objects.order_by("pk").values_list("pk", *SUMMARY, "days_behind"))
    closes = dict(
        DailyBar.objects.filter(trade_date=_previous(day)).values_list("security_id", "close")
    )

    def plan(pk, code, exchange):
        return FundPlan(pk, code, exchange, start=day, end=day, last=_previous(day))

    entries = [
        (plan(pk, code, exchange), [_bar(day, closes.get(pk))]) for pk, code, exchange in securities
    ]

    def write():
        run = SyncRun.objects.create(kind=SyncKind.ETF_PRICES, trigger=SyncTrigger.COMMAND)
        BarBatches(RunRecorder(run)).write_entries(entries)
        return run

    def undo(run):
        DailyBar.objects.filter(trade_date=day).delete()
        run.delete()
        columns = [list(column) for column in zip(*summaries, strict=True)]
        names = (*SUMMARY, "days_behind")
        types = ["bigint"] + [
            "date"
            if StockInfo._meta.get_field(name).get_internal_type() == "DateField"
            else "integer"
            for name in names
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {StockInfo._meta.db_table} AS stored SET "
                + ", ".join(f"{name} = kept.{name}" for name in names)
                + " FROM unnest("
                + ", ".join(f"%s::{kind}[]" for kind in types)
                + ") AS kept (id, "
                + ", ".join(names)
                + ") WHERE stored.id = kept.id",
                columns,
            )
            # Autovacuum is off on these tables: clear what the round and its undo left dead.
            cursor.execute(f"VACUUM {StockInfo._meta.db_table}, {DailyBar._meta.db_table}")

    return write, undo, len(entries)


def _previous(day: dt.date) -> dt.date:
    from etfs.sync.calendar import previous_trading_day

    return previous_trading_day(day)


def _bar(day: dt.date, close):
    from decimal import Decimal

    from etfs.providers.base import Bar

    close = Decimal(close or "2.000")
    return Bar(
        day, close, close + Decimal("0.01"), close - Decimal("0.01"), close, 1000, close * 1000
    )


def timed_rounds(actions: dict, rounds: int) -> dict[str, list[float]]:
    """Each action once per round, every other round in reverse order; ``(do, undo)`` pairs
    undo outside the time."""
    timings: dict[str, list[float]] = {label: [] for label in actions}
    labels = list(actions)
    for round_number in range(rounds):
        for label in labels if round_number % 2 == 0 else labels[::-1]:
            do, undo = actions[label]
            began = time.perf_counter()
            result = do()
            timings[label].append(time.perf_counter() - began)
            if undo is not None:
                undo(result)
    return timings


def line(label: str, values: list[float], target_ms: float | None = None) -> str:
    median, low, high = median_and_spread([value * 1000 for value in values])
    mark = ""
    if target_ms is not None:
        mark = "  ok" if median <= target_ms else f"  OVER {target_ms:.0f} ms"
    return f"  {label:<58} {median:>8,.0f} ms ({low:,.0f}-{high:,.0f}){mark}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--securities", type=int, default=6800)
    parser.add_argument("--bars", type=int, default=20_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--database", default=os.environ.get("BENCH_MARKET_DATABASE_URL", DEFAULT_URL)
    )
    args = parser.parse_args()
    began = time.perf_counter()
    prepare(args)
    print(f"database ready in {time.perf_counter() - began:.0f} s", flush=True)

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from etfs.models import DailyBar, StockInfo, SyncRun

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
    longest = StockInfo.objects.order_by("-bar_count", "pk").first()
    last = StockInfo.objects.order_by("-last_bar_date").values_list("last_bar_date", flat=True)[0]
    from etfs.models import TradingDay

    day = TradingDay.objects.open().filter(date__gt=last).order_by("date").first()
    if day is None:
        raise SystemExit(f"the calendar knows no trading day after {last}")
    bars = DailyBar.objects.count()
    print(f"{machine()}; {load()}")
    print(
        f"{StockInfo.objects.count():,} securities, {bars:,} bars, "
        f"{SyncRun.objects.count():,} runs; longest {longest.code} {longest.bar_count:,} bars; "
        f"{args.rounds} rounds alternated, median (min-max)"
    )
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    user.is_superuser = user.is_staff = True
    user.save()
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    pages = admin_pages(
        longest,
        SyncRun.objects.order_by("-pk").values_list("pk", flat=True)[0],
        dt.date(last.year, 1, 1),
    )

    analyze()
    print("\nadmin pages, statistics fresh (ANALYZE):")
    for label, values in measure_pages(client, pages, args.rounds).items():
        print(line(label, values, 150 if label.startswith("security page") else 300))
    drop_statistics()
    searches = [(label, url) for label, url in pages if " search " in label or "filter" in label]
    print("\nsearches and filters, no statistics on the bar and security tables:")
    for label, values in measure_pages(client, searches, args.rounds).items():
        print(line(label, values, 300))
    analyze()

    write, undo, securities = one_day_write(day.date)
    bars_of = DailyBar.objects.filter(security=longest).order_by("trade_date")
    actions = {
        "manage.py refresh_freshness": (
            lambda: call_command("refresh_freshness", stdout=io.StringIO()),
            None,
        ),
        "manage.py sync_etf_prices --dry-run": (
            lambda: call_command("sync_etf_prices", "--dry-run", stdout=io.StringIO()),
            None,
        ),
        f"one day ({day.date}) for {securities:,} securities, the sync's writer": (write, undo),
        f"adjusted('qfq') of {longest.code}": (lambda: list(bars_of.adjusted("qfq")), None),
        f"adjusted('hfq') of {longest.code}": (lambda: list(bars_of.adjusted("hfq")), None),
        f"resampled('week') of {longest.code}": (lambda: bars_of.resampled("week"), None),
        f"adjusted('qfq').resampled('month') of {longest.code}": (
            lambda: bars_of.adjusted("qfq").resampled("month"),
            None,
        ),
    }
    targets = {"one day": 1000, "adjusted": 100, "resampled": 100}
    print("\ncommands and writes:")
    for label, values in timed_rounds(actions, args.rounds).items():
        target = next((ms for key, ms in targets.items() if label.startswith(key)), None)
        print(line(label, values, target))
    analyze()
    print(f"\n{load()}; done in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
