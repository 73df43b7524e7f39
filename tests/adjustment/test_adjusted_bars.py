"""``DailyBar.objects.adjusted()`` on PostgreSQL (one query) and on SQLite (Python arithmetic)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from etfs.market import SHANGHAI
from etfs.models import DailyBar
from etfs.sync.factors import recompute_factors
from tests.adjustment.history import (
    DIVIDEND_BARS,
    DIVIDEND_DAY,
    DIVIDEND_HFQ,
    DIVIDEND_QFQ,
    SPLIT_BARS,
    SPLIT_DAY,
    SPLIT_HFQ,
    SPLIT_QFQ,
    add_event,
    add_fund,
    as_table,
    store_factors_directly,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def funds():
    split_fund = add_fund("513500", "XSHG", SPLIT_BARS)
    add_event(split_fund, SPLIT_DAY, "split", ratio="2")
    dividend_fund = add_fund("510050", "XSHG", DIVIDEND_BARS)
    add_event(dividend_fund, DIVIDEND_DAY, "cash", cash="0.055")
    recompute_factors([split_fund.pk, dividend_fund.pk])
    return split_fund, dividend_fund


@pytest.mark.parametrize(
    ("mode", "split_expected", "dividend_expected"),
    [("hfq", SPLIT_HFQ, DIVIDEND_HFQ), ("qfq", SPLIT_QFQ, DIVIDEND_QFQ)],
)
def test_adjusted_bars_match_the_hand_worked_values(funds, mode, split_expected, dividend_expected):
    split_fund, dividend_fund = funds
    assert as_table(DailyBar.objects.filter(security=split_fund).adjusted(mode)) == split_expected
    assert (
        as_table(DailyBar.objects.filter(security=dividend_fund).adjusted(mode))
        == dividend_expected
    )


def test_unadjusted_bars_are_the_stored_ones(funds):
    rows = list(DailyBar.objects.filter(security=funds[0]).adjusted("none"))
    assert [(row["trade_date"], row["open"], row["volume"]) for row in rows] == [
        (day, D(open_), D(volume)) for day, open_, _, _, _, volume in SPLIT_BARS
    ]


def test_all_funds_are_adjusted_in_one_query_without_python_per_row(funds):
    with CaptureQueriesContext(connection) as queries:
        rows = list(DailyBar.objects.adjusted("qfq"))
    assert len(queries) == 1
    assert "adjustmentfactor" in queries[0]["sql"]
    assert len(rows) == len(SPLIT_BARS) + len(DIVIDEND_BARS)
    assert {(row["security_id"], row["trade_date"]) for row in rows} == set(
        DailyBar.objects.values_list("security_id", "trade_date")
    )


def test_a_fund_without_events_is_adjusted_by_one(funds):
    plain = add_fund("159915", "XSHE", SPLIT_BARS[:2])
    rows = as_table(DailyBar.objects.filter(security=plain).adjusted("qfq"))
    assert rows[dt.date(2014, 1, 15)] == ("0.9940", "0.9960", "0.9850", "0.9860", "1000000")


def test_adjusted_bars_resample_into_continuous_weeks(funds):
    split_fund, _ = funds
    bars = DailyBar.objects.filter(security=split_fund, trade_date__year=2022)
    (week,) = bars.adjusted("qfq").resampled("week")
    # Monday 2022-03-28 before the split (halved), Tuesday the ex-date.
    assert week["period_start"] == dt.date(2022, 3, 28)
    assert (week["open"], week["high"], week["low"], week["close"]) == (
        D("1.2500"),
        D("1.2620"),
        D("1.2400"),
        D("1.2550"),
    )
    assert week["volume"] == 4_000_000 and week["days"] == 2


def test_recent_adjusted_bars_for_the_admin(funds):
    split_fund, _ = funds
    newest = DailyBar.objects.filter(security=split_fund).adjusted("hfq").recent("day", 2)
    assert [(row["period_start"], row["close"]) for row in newest] == [
        (dt.date(2023, 1, 4), D("2.4900")),
        (SPLIT_DAY, D("2.5100")),
    ]


def test_an_unknown_adjustment_is_refused():
    with pytest.raises(ValueError, match="adjustment must be one of"):
        DailyBar.objects.adjusted("forward")


@pytest.mark.django_db(databases=["default", "sqlite"])
@pytest.mark.parametrize(
    ("mode", "split_expected", "dividend_expected"),
    [("hfq", SPLIT_HFQ, DIVIDEND_HFQ), ("qfq", SPLIT_QFQ, DIVIDEND_QFQ)],
)
def test_sqlite_gives_the_same_exact_values(mode, split_expected, dividend_expected):
    split_fund = add_fund("513500", "XSHG", SPLIT_BARS, using="sqlite")
    add_event(split_fund, SPLIT_DAY, "split", ratio="2", using="sqlite")
    dividend_fund = add_fund("510050", "XSHG", DIVIDEND_BARS, using="sqlite")
    add_event(dividend_fund, DIVIDEND_DAY, "cash", cash="0.055", using="sqlite")
    store_factors_directly(split_fund, "sqlite")
    store_factors_directly(dividend_fund, "sqlite")
    bars = DailyBar.objects.using("sqlite")
    assert as_table(bars.filter(security=split_fund).adjusted(mode)) == split_expected
    assert as_table(bars.filter(security=dividend_fund).adjusted(mode)) == dividend_expected
    (week,) = (
        bars.filter(security=split_fund, trade_date__year=2022).adjusted("qfq").resampled("week")
    )
    assert (week["open"], week["high"], week["close"], week["volume"]) == (
        D("1.2500"),
        D("1.2620"),
        D("1.2550"),
        4_000_000,
    )


@pytest.mark.django_db(databases=["default", "sqlite"])
@pytest.mark.parametrize("using", ["default", "sqlite"])
def test_a_future_ex_date_leaves_todays_forward_prices_raw(using):
    fund = add_fund("510050", "XSHG", DIVIDEND_BARS[:1], using=using)
    last_day = DIVIDEND_BARS[0][0]  # 2024-11-29, a Friday
    add_event(fund, DIVIDEND_DAY, "cash", cash="0.055", using=using)
    if using == "default":
        recompute_factors([fund.pk])
    else:
        store_factors_directly(fund, using)
    bars = DailyBar.objects.using(using).filter(security=fund)
    with time_machine.travel(dt.datetime(2024, 11, 29, 18, 0, tzinfo=SHANGHAI), tick=False):
        (today,) = bars.adjusted("qfq")
    assert (today["trade_date"], today["close"]) == (last_day, D("2.7500"))
    # From the ex-date on, the dividend applies to what came before.
    with time_machine.travel(dt.datetime(2024, 12, 2, 9, 0, tzinfo=SHANGHAI), tick=False):
        (before,) = bars.adjusted("qfq")
    assert before["close"] == D("2.6950")


@pytest.mark.django_db(databases=["default", "sqlite"])
@pytest.mark.parametrize("using", ["default", "sqlite"])
def test_adjusted_volume_is_whole_shares(using):
    # 510310's merge at 0.49977589: 1,001 units before are 500.27566... units after.
    day = dt.date(2024, 9, 20)
    fund = add_fund(
        "510310",
        "XSHG",
        [
            (dt.date(2024, 9, 19), "1.000", "1.000", "1.000", "1.000", 1001),
            (day, "2.000", "2.000", "2.000", "2.000", 500),
        ],
        using=using,
    )
    add_event(fund, day, "conversion", ratio="0.49977589", using=using)
    store_factors_directly(fund, using)
    rows = list(DailyBar.objects.using(using).filter(security=fund).adjusted("qfq"))
    assert [row["volume"] for row in rows] == [500, 500]
    assert all(type(row["volume"]) is int for row in rows)
