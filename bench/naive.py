"""The ways a user syncs prices without etfsync, to measure etfsync against.

``fair_naive_sync`` is the loop people write around akshare: page the list, fetch each fund's
k-lines one after another, write each fund's rows with ``INSERT ... ON CONFLICT DO UPDATE`` in
one transaction per fund (psycopg 3's ``executemany``, which pipelines the statements). It is
the baseline docs/benchmarks.md's ratio is taken against.

``orm_naive_sync`` is what this project's seed did: the same requests, then
``update_or_create`` per row in autocommit. It is much slower than the fair way and is shown on
its own, labelled line only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import requests

from etfs.providers.eastmoney.clist import LIST_PATH, list_params
from etfs.providers.eastmoney.klines import KLINE_PATH, kline_params
from etfs.providers.eastmoney.wire import MARKET_TO_EXCHANGE

# The fair naive loop writes into a bars table of its own, as a user's script would: the shape
# of etfs_dailybar (its columns, its id, its unique (security, day) and (day, security) indexes)
# with an ordinary foreign key to the securities, checked row by row. etfs_dailybar itself
# checks its security with a trigger a statement (migration 0022), which costs a single-row
# INSERT three times what the foreign key does: writing there would slow the loop down.
TABLE = "naive_dailybar"
CREATE_SQL = f"""
DROP TABLE IF EXISTS {TABLE};
CREATE TABLE {TABLE} (LIKE etfs_dailybar INCLUDING ALL);
ALTER TABLE {TABLE} ADD FOREIGN KEY (security_id) REFERENCES etfs_stockinfo (id)
    DEFERRABLE INITIALLY DEFERRED;
"""

UPSERT_SQL = f"""
INSERT INTO {TABLE} (security_id, trade_date, open, high, low, close, volume, amount)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (security_id, trade_date) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
    volume = EXCLUDED.volume, amount = EXCLUDED.amount
"""


def create_table(database_url: str) -> None:
    """The naive loop's own bars table, empty (not timed: a user has made it once)."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(CREATE_SQL)


def page_the_list(session: requests.Session, push2_url: str) -> list[tuple[str, str]]:
    """(code, exchange) of every fund on the ETF boards, page after page."""
    funds, page = [], 1
    while True:
        # The same request etfsync sends, asking only for code, market and name.
        params = {**list_params(page), "fields": "f12,f13,f14"}
        data = session.get(push2_url + LIST_PATH, params=params, timeout=20).json()["data"]
        funds += [(row["f12"], MARKET_TO_EXCHANGE[row["f13"]]) for row in data["diff"]]
        if not data["diff"] or len(funds) >= data["total"]:
            return funds
        page += 1


def fetch_klines(session, push2his_url: str, code: str, exchange: str, start, end) -> list[str]:
    params = kline_params(code, exchange, start, end)
    answer = session.get(push2his_url + KLINE_PATH, params=params, timeout=20).json()
    return (answer.get("data") or {}).get("klines") or []


def parse_line(line: str) -> tuple:
    """date, open, high, low, close, volume (shares), amount: exact decimals, as a careful
    user would keep them (the k-line's field order is date, open, close, high, low, lots)."""
    day, open_, close, high, low, lots, amount = line.split(",")[:7]
    return (
        dt.date.fromisoformat(day),
        Decimal(open_),
        Decimal(high),
        Decimal(low),
        Decimal(close),
        int(lots) * 100,
        Decimal(amount),
    )


def fair_naive_sync(urls: tuple[str, str], database_url: str, start, end) -> int:
    """Sequential requests, one INSERT ... ON CONFLICT transaction per fund; returns bars."""
    push2_url, push2his_url = urls
    written = 0
    with requests.Session() as session, psycopg.connect(database_url) as connection:
        funds = page_the_list(session, push2_url)
        ids = {
            (code, exchange): pk
            for pk, code, exchange in connection.execute(
                "SELECT id, code, exchange FROM etfs_stockinfo"
            )
        }
        connection.commit()
        for code, exchange in funds:
            lines = fetch_klines(session, push2his_url, code, exchange, start, end)
            rows = [(ids[code, exchange], *parse_line(line)) for line in lines]
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(UPSERT_SQL, rows)
            written += len(rows)
    return written


def orm_naive_sync(urls: tuple[str, str], codes: set[str], start, end) -> int:
    """Sequential requests, ``update_or_create`` per row (autocommit); returns bars."""
    from etfs.models import DailyBar, StockInfo

    push2_url, push2his_url = urls
    written = 0
    with requests.Session() as session:
        for code, exchange in page_the_list(session, push2_url):
            if code not in codes:
                continue
            security = StockInfo.objects.get(code=code, exchange=exchange)
            for line in fetch_klines(session, push2his_url, code, exchange, start, end):
                day, open_, high, low, close, volume, amount = parse_line(line)
                DailyBar.objects.update_or_create(
                    security=security,
                    trade_date=day,
                    defaults={
                        "open": open_,
                        "high": high,
                        "low": low,
                        "close": close,
                        "volume": volume,
                        "amount": amount,
                    },
                )
                written += 1
    return written


def main() -> None:
    """``python bench/naive.py PUSH2_URL PUSH2HIS_URL DATABASE_URL START END``: the fair naive
    loop as a user's own script (bench/user_run.py times it as a process)."""
    import sys

    push2_url, push2his_url, database_url, start, end = sys.argv[1:6]
    bars = fair_naive_sync(
        (push2_url, push2his_url),
        database_url,
        dt.date.fromisoformat(start),
        dt.date.fromisoformat(end),
    )
    print(f"{bars} bars")


if __name__ == "__main__":
    main()
