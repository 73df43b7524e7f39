"""Freshness benchmark: the admin's securities list sorted and filtered at millions of bars.

    .venv/bin/python bench/freshness.py [--funds 1500] [--days 2000]

Fills the bars table with ``funds`` x ``days`` bars (on real trading days, a few holes), then
times the StockInfo changelist sorted by bar count and filtered by freshness, which read the
columns the writes keep, against the per-request aggregate the list used before (a correlated
count per security), and the per-batch refresh the upsert adds. Uses (and recreates) the
PostgreSQL database in BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/etfsync_bench).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, setup_django  # noqa: E402

OLD_SORT_SQL = """
SELECT s.id, (SELECT count(*) FROM etfs_dailybar b WHERE b.security_id = s.id) AS bars
FROM etfs_stockinfo s ORDER BY bars DESC, s.id DESC LIMIT 100
"""


def fill(funds: int, days: int) -> None:
    from django.db import connection

    from etfs.models import StockInfo

    StockInfo.objects.bulk_create(
        StockInfo(code=f"{510000 + n:06d}", exchange="XSHG", name=f"ETF {n}", is_etf=True)
        for n in range(funds)
    )
    with connection.cursor() as cursor:
        # Every 50th fund misses every 97th day: gaps to find.
        cursor.execute(
            "INSERT INTO etfs_dailybar (security_id, trade_date, open, high, low, close, volume,"
            " amount) SELECT s.id, d.date, 1, 1.1, 0.9, 1, 100, 100 FROM etfs_stockinfo s"
            " CROSS JOIN (SELECT date, row_number() OVER (ORDER BY date) AS n FROM"
            " (SELECT date FROM etfs_tradingday WHERE is_open ORDER BY date DESC LIMIT %s) AS t)"
            " AS d WHERE s.id %% 50 <> 0 OR d.n %% 97 <> 0",
            [days],
        )
        cursor.execute("ANALYZE")


def median_ms(action, rounds: int = 5) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--funds", type=int, default=1500)
    parser.add_argument("--days", type=int, default=2000)
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from etfs.models import DailyBar, StockInfo
    from etfs.sync.freshness import refresh_bar_summary, refresh_days_behind

    start = time.perf_counter()
    fill(args.funds, args.days)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE etfs_dailybar")  # as autovacuum would, after a load
    ids = list(StockInfo.objects.values_list("id", flat=True))
    print(f"{machine()}; {DailyBar.objects.count():,} bars, {len(ids)} ETFs")
    print(f"fill: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    refresh_bar_summary(ids)
    refresh_days_behind(StockInfo.objects.order_by("-last_bar_date")[0].last_bar_date)
    print(f"summary of every ETF (the migration's fill): {time.perf_counter() - start:.1f} s")
    print(
        f"one batch's refresh (20 ETFs): {median_ms(lambda: refresh_bar_summary(ids[:20])):.0f} ms"
    )

    def old_sort():
        with connection.cursor() as cursor:
            cursor.execute(OLD_SORT_SQL)
            cursor.fetchall()

    print(f"old: sort by a per-request bar count: {median_ms(old_sort, 3):.0f} ms")
    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.create_superuser("bench", password="unused"))
    page = reverse("admin:etfs_stockinfo_changelist")

    def get(query):
        response = client.get(page + query)
        assert response.status_code == 200, response.status_code

    for label, query in [
        ("sorted by bar count", "?o=-7"),
        ("sorted by missing days", "?o=-9"),
        ("filter: behind", "?freshness=behind"),
        ("filter: has gaps", "?freshness=gaps&o=-9"),
    ]:
        print(f"changelist {label}: {median_ms(lambda q=query: get(q)):.0f} ms")


if __name__ == "__main__":
    main()
