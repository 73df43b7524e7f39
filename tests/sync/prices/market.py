"""The fake market of the price tests: its days, the clock of a run, and what the fake saw.

The fake's histories run 2024-01-01..2024-03-29 (a Friday, a trading day); every sync is given
``now`` so that "the last final day" does not depend on the wall clock.
"""

import datetime as dt
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from etfs.models import DailyBar, SyncRun
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests.conftest import HISTORY_END

SHANGHAI = ZoneInfo("Asia/Shanghai")
LAST_DAY = HISTORY_END  # 2024-03-29, the fake's last bar
PREVIOUS_DAY = dt.date(2024, 3, 28)  # the trading day before it
FAILING = "510001"  # the fund the failure tests break


def shanghai(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


AFTER_CLOSE = shanghai(LAST_DAY, 16)


def sync(now: dt.datetime = AFTER_CLOSE, **options) -> SyncRun:
    options.setdefault("start_year", 2024)
    run = sync_etf_prices(PriceOptions(**options), now=now)
    run.refresh_from_db()
    return run


def fake_fund(server, code: str):
    [fund] = [fund for fund in server.funds.values() if fund.code == code]
    return fund


def kline_requests(server) -> dict:
    """code -> the query parameters of the k-line requests the fake saw for it."""
    requests = {}
    for request in server.paths("/api/qt/stock/kline/get"):
        code = request.args["secid"].partition(".")[2]
        requests.setdefault(code, []).append(dict(request.args))
    return requests


def yyyymmdd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


@contextmanager
def bars_held():
    """While inside, no bar can be committed (a SHARE lock on the bar table; reads go on): a
    run's batches wait, its fetching and its counting do not."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {DailyBar._meta.db_table} IN SHARE MODE")
        yield
