"""CSV export of 2,000,000 bars through the admin's export view: time, size and peak memory.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/etfsync_bench_export \\
        .venv/bin/python bench/export.py

The response streams (StreamingHttpResponse over a server-side cursor), so the process's peak
memory should stay near its size before the export, whatever the number of bars.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, peak_rss_mb, setup_django  # noqa: E402

SECURITIES, DAYS = 1_000, 2_000


def fill() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO etfs_stockinfo (code, exchange, name, is_etf, category, status,
                                        created_at, updated_at)
            SELECT lpad((510000 + n)::text, 6, '0'), 'XSHG', 'ETF ' || n, true, '', 'listed',
                   now(), now()
            FROM generate_series(0, %s - 1) AS n
            """,
            [SECURITIES],
        )
        cursor.execute(
            """
            INSERT INTO etfs_dailybar (security_id, trade_date, open, high, low, close, volume,
                                       amount)
            SELECT s.id, DATE '2015-01-01' + d, 1.0 + d * 0.001, 1.1 + d * 0.001,
                   0.9 + d * 0.001, 1.05 + d * 0.001, 100000 + d, 105000.5 + d
            FROM etfs_stockinfo AS s, generate_series(0, %s - 1) AS d
            """,
            [DAYS],
        )
        cursor.execute("ANALYZE etfs_dailybar")


def main() -> None:
    setup_django(_url())
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    fill()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.create_superuser("bench", password="unused"))
    before = peak_rss_mb()
    started = time.perf_counter()
    response = client.get(
        reverse("admin:etfs_dailybar_export"), {"all_etfs": "on", "download": "csv"}
    )
    first = None
    size = lines = 0
    for chunk in response.streaming_content:
        if first is None:
            first = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    print(f"machine: {machine()}")
    print(f"rows: {lines - 1:,} bars, {size / 1e6:.0f} MB of CSV")
    print(
        f"first byte after {first:.2f} s; all in {elapsed:.1f} s "
        f"({(lines - 1) / elapsed:,.0f} rows/s)"
    )
    print(f"peak RSS: {before:.0f} MB before the export, {peak_rss_mb():.0f} MB after it")


def _url():
    import os

    return os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/etfsync_bench_export"
    )


if __name__ == "__main__":
    main()
