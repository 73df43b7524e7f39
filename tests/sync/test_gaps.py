"""Missing days are trading days without a bar that no suspension explains, counted as days."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from etfs.models import DailyBar, StockInfo, Suspension
from etfs.providers.base import Bar
from etfs.sync.freshness import missing_trading_days, refresh_bar_summary
from etfs.sync.upsert import upsert_daily_bars
from tests.factories import make_security

pytestmark = pytest.mark.django_db

MARCH = [dt.date(2024, 3, day) for day in range(1, 30)]
TRADING = [day for day in MARCH if day.weekday() < 5]  # no holiday in March 2024: 21 days
WEEKEND = [day for day in MARCH if day.weekday() >= 5]


def bar(day: dt.date) -> Bar:
    one = Decimal("1.000")
    return Bar(day, one, one, one, one, 1000, Decimal("1000.000"))


def with_bars(security: StockInfo, days) -> StockInfo:
    upsert_daily_bars([(security.pk, bar(day)) for day in days])
    security.refresh_from_db()
    return security


def test_bars_on_closed_days_never_hide_missing_trading_days(admin_client):
    missing = TRADING[1:7]
    fund = with_bars(make_security("510300"), [d for d in TRADING if d not in missing])
    # Six bars on weekend days, written around the upsert's check of the calendar.
    DailyBar.objects.bulk_create(
        DailyBar(security=fund, trade_date=day, open=1, high=1, low=1, close=1, volume=1, amount=1)
        for day in WEEKEND[:6]
    )
    for recount in (lambda: refresh_bar_summary([fund.pk]), lambda: None):
        recount()
        fund.refresh_from_db()
        assert (fund.bar_count, fund.missing_days, fund.bars_off_calendar) == (21, 6, 6)
    assert missing_trading_days(fund) == missing
    page = admin_client.get(f"/admin/etfs/stockinfo/{fund.pk}/change/").content.decode()
    assert "more" not in page.split("missing trading days")[-1].split("</div>")[0]
    assert "6 bar(s) on days the calendar holds closed" in page


def test_a_suspension_explains_its_days_and_an_unexplained_day_stays_missing(admin_client):
    suspended_days = TRADING[5:10]  # 2024-03-08 .. 2024-03-14: five trading days
    suspended = make_security("600001", is_etf=False, board="main")
    Suspension.objects.create(
        security=suspended, start=suspended_days[0], end=suspended_days[-1], reason="重大事项"
    )
    suspended = with_bars(suspended, [d for d in TRADING if d not in suspended_days])
    gap = make_security("600002", is_etf=False, board="main")
    gap = with_bars(gap, [d for d in TRADING if d != TRADING[12]])
    assert (suspended.missing_days, suspended.suspended_days) == (0, 5)
    assert (gap.missing_days, gap.suspended_days) == (1, 0)
    assert missing_trading_days(suspended) == []
    assert missing_trading_days(suspended, suspended=True) == suspended_days
    assert set(StockInfo.objects.with_gaps()) == {gap}
    page = admin_client.get(f"/admin/etfs/stockinfo/{suspended.pk}/change/").content.decode()
    assert "2024-03-08" in page and "suspended" in page


def test_a_suspension_stored_after_the_bars_recounts_the_missing_days():
    stock = make_security("000001", "XSHE", is_etf=False, board="main")
    stock = with_bars(stock, TRADING[:3] + TRADING[8:])
    assert stock.missing_days == 5
    Suspension.objects.create(security=stock, start=TRADING[3], end=None, reason="停牌")
    refresh_bar_summary([stock.pk])
    stock.refresh_from_db()
    # Open-ended: every trading day from its start up to the last bar is explained.
    assert (stock.missing_days, stock.suspended_days) == (0, 5)


def test_bars_off_trading_days_are_probed_day_by_day_without_statistics():
    """A first load into a bars table never analysed (a server without autovacuum, or before it
    comes round): the bars on closed days are looked up through the (trade date, security)
    index, a probe per day, not by reading every bar of the table at every batch."""
    funds = [make_security(f"51030{digit}") for digit in range(5)]
    table = DailyBar._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (security_id, trade_date, open, high, low, close, volume,"
            " amount) SELECT s.id, DATE '2010-01-01' + d, 1, 1, 1, 1, 1, 1"
            " FROM etfs_stockinfo s CROSS JOIN generate_series(0, 4000) AS d"
        )
        cursor.execute(
            "DELETE FROM pg_statistic WHERE starelid = ANY(ARRAY[%s, %s]::regclass[])",
            [table, StockInfo._meta.db_table],
        )
    with CaptureQueriesContext(connection) as captured:
        with_bars(funds[0], TRADING)
    [query] = [
        q["sql"]
        for q in captured
        if "unnest" in q["sql"]
        and "trade_date" in q["sql"]
        and table in q["sql"]
        and "INSERT" not in q["sql"]
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {query}")
        plan = json.dumps(cursor.fetchone()[0])

    assert "dailybar_day_security" in plan
    assert '"Seq Scan"' not in plan
