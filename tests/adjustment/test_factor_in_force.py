"""The factor each bar is adjusted by on PostgreSQL (etfs/adjusted_bars.py): the lateral lookup
of the factor in force on its day, bar by bar against the Python arithmetic."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import pytest
import time_machine
from django.db import connection

from etfs.adjustment import adjust_rows_in_python
from etfs.market import SHANGHAI
from etfs.models import AdjustmentFactor, DailyBar, StockInfo
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
)

pytestmark = pytest.mark.django_db

FIRST_DAY = dt.date(2024, 1, 2)
TODAY = dt.datetime(2024, 3, 20, 16, 0, tzinfo=SHANGHAI)
# Three past ex-dates (one a Saturday, when no bar is stored) and one still to come.
EVENTS = [
    (dt.date(2024, 1, 16), "cash", "0.05", "1"),
    (dt.date(2024, 2, 3), "split", "0", "2"),
    (dt.date(2024, 3, 4), "cash", "0.02", "1"),
    (dt.date(2024, 4, 1), "cash", "0.03", "1"),
]


def weekdays(count: int) -> list[dt.date]:
    days, day = [], FIRST_DAY
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


@pytest.fixture
def many_factors():
    """A fund with 55 bars (2024-01-02 to 2024-03-18) and four events, one after today."""
    bars = []
    for n, day in enumerate(weekdays(55)):
        base = D("2.000") + D(n % 7) / 100 - (D(1) if day >= EVENTS[1][0] else 0)
        bars.append(
            (day, str(base), str(base + D("0.013")), str(base - D("0.011")), str(base), 1001)
        )
    fund = add_fund("510500", "XSHG", bars)
    for ex_date, kind, cash, ratio in EVENTS:
        add_event(fund, ex_date, kind, cash=cash, ratio=ratio)
    recompute_factors([fund.pk])
    assert AdjustmentFactor.objects.filter(security=fund).count() == len(EVENTS)
    return fund


def in_python(fund: StockInfo, mode: str, today: dt.date) -> list[dict]:
    raw = DailyBar.objects.filter(security=fund).order_by("trade_date")
    rows = raw.values(
        "security_id", "trade_date", "open", "high", "low", "close", "volume", "amount"
    )
    factors = AdjustmentFactor.objects.filter(security=fund).order_by("ex_date")
    return list(
        adjust_rows_in_python(
            list(rows),
            {fund.pk: list(factors.values_list("ex_date", "hfq_factor", "split_factor"))},
            mode,
            today,
        )
    )


@pytest.mark.parametrize("mode", ["qfq", "hfq"])
def test_every_bar_is_adjusted_by_the_factor_in_force_on_its_day(many_factors, mode):
    with time_machine.travel(TODAY, tick=False):
        rows = list(DailyBar.objects.filter(security=many_factors).adjusted(mode))
    assert rows == in_python(many_factors, mode, TODAY.date())
    by_day = {row["trade_date"]: row for row in rows}
    stored = dict(DailyBar.objects.filter(security=many_factors).values_list("trade_date", "close"))
    # Before the first ex-date hfq keeps the stored prices; from the third on, qfq does (the
    # fourth is still to come and anchors nothing).
    if mode == "hfq":
        assert by_day[FIRST_DAY]["close"] == stored[FIRST_DAY]
        assert by_day[dt.date(2024, 1, 15)]["close"] == stored[dt.date(2024, 1, 15)]
        assert by_day[dt.date(2024, 1, 16)]["close"] > stored[dt.date(2024, 1, 16)]
    else:
        assert by_day[dt.date(2024, 3, 4)]["close"] == stored[dt.date(2024, 3, 4)]
        assert by_day[dt.date(2024, 3, 1)]["close"] < stored[dt.date(2024, 3, 1)]
    # The Saturday split applies from the Monday after it: 1,001 units a day are 2,002 in
    # today's units before it (qfq), and 500.5, rounded up, in the first day's after it (hfq).
    volumes = [by_day[day]["volume"] for day in (dt.date(2024, 2, 2), dt.date(2024, 2, 5))]
    assert volumes == ([2002, 1001] if mode == "qfq" else [1001, 501])


def test_securities_read_together_each_get_their_own_factors():
    split_fund = add_fund("513500", "XSHG", SPLIT_BARS)
    add_event(split_fund, SPLIT_DAY, "split", ratio="2")
    dividend_fund = add_fund("510050", "XSHG", DIVIDEND_BARS)
    add_event(dividend_fund, DIVIDEND_DAY, "cash", cash="0.055")
    plain = add_fund("159915", "XSHE", SPLIT_BARS)
    recompute_factors([split_fund.pk, dividend_fund.pk])

    for mode, expected in (
        ("hfq", {split_fund.pk: SPLIT_HFQ, dividend_fund.pk: DIVIDEND_HFQ}),
        ("qfq", {split_fund.pk: SPLIT_QFQ, dividend_fund.pk: DIVIDEND_QFQ}),
    ):
        rows = list(DailyBar.objects.adjusted(mode))
        assert [row["security_id"] for row in rows] == sorted(row["security_id"] for row in rows)
        for fund, table in expected.items():
            assert as_table(row for row in rows if row["security_id"] == fund) == table
        # No factor at all: the stored prices, whatever the others' factors.
        assert as_table(row for row in rows if row["security_id"] == plain.pk) == {
            day: (open_, high, low, close, str(volume))
            for day, *prices, volume in SPLIT_BARS
            for open_, high, low, close in [[f"{D(price):.4f}" for price in prices]]
        }


def test_an_adjusted_queryset_filters_counts_slices_streams_and_nests(many_factors):
    with time_machine.travel(TODAY, tick=False):
        adjusted = DailyBar.objects.filter(security=many_factors).adjusted("hfq")
        everything = list(adjusted)
        later = adjusted.filter(trade_date__gte=dt.date(2024, 3, 4))
        assert list(later) == [
            row for row in everything if row["trade_date"] >= dt.date(2024, 3, 4)
        ]
        assert later.count() == len(list(later))
        assert list(adjusted[10:12]) == everything[10:12]
        assert list(adjusted.iterator(chunk_size=7)) == everything
        # As a subquery the query's tables are renamed (U0, U1, ...): the lateral lookup's too.
        high = adjusted.filter(close__gt=D("2.05")).values("security_id")
        assert list(StockInfo.objects.filter(pk__in=high)) == [many_factors]
        assert not StockInfo.objects.filter(pk__in=high.filter(close__gt=100)).exists()


def test_adjusted_values_are_not_converted_again_in_python(many_factors):
    adjusted = DailyBar.objects.filter(security=many_factors).adjusted("qfq")
    compiler = adjusted.query.get_compiler(adjusted.db)
    compiler.setup_query()
    assert compiler.get_converters([column for column, _, _ in compiler.select]) == {}
    row = adjusted.first()
    assert type(row["close"]) is D and type(row["volume"]) is int


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from plan_nodes(child)


@pytest.mark.parametrize("mode", ["qfq", "hfq"])
def test_the_factors_are_read_once_a_query_not_once_a_bar_whatever_the_statistics(
    many_factors, mode
):
    table = AdjustmentFactor._meta.db_table
    with connection.cursor() as cursor:  # a factor table just rewritten: no statistics
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [table])
    adjusted = DailyBar.objects.filter(security=many_factors).adjusted(mode)
    plan = json.loads(adjusted.explain(format="json", analyze=True))[0]["Plan"]
    scans = [node for node in plan_nodes(plan) if node.get("Relation Name") == table]
    assert scans and all(node["Actual Loops"] == 1 for node in scans), scans
    assert max(node["Actual Rows"] for node in plan_nodes(plan)) == 55  # the bars, not more
