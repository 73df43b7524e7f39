"""Stock dividends, bonus and rights shares from the datacenter, and their factors, against
hand-worked values (shared/providers.md section 8: the exchanges' ex-rights reference price)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from etfs.models import AdjustmentFactor, CorporateAction, DailyBar, StockInfo, SyncRun
from etfs.sync.corporate_actions import ActionOptions, sync_corporate_actions
from tests.fakes.eastmoney import FakeBar, FakeFund
from tests.fakes.eastmoney_datacenter import FakeEastmoneyDatacenter, bonus_row, rights_row

pytestmark = pytest.mark.django_db

DAY = dt.date


def add_stock(code: str, exchange: str, bars) -> StockInfo:
    stock = StockInfo.objects.create(
        code=code, exchange=exchange, name=f"股票{code}", is_etf=False, board="main"
    )
    DailyBar.objects.bulk_create(
        DailyBar(
            security=stock,
            trade_date=day,
            open=D(open_),
            high=D(high),
            low=D(low),
            close=D(close),
            volume=1_000_000,
            amount=D(close) * 1_000_000,
        )
        for day, open_, high, low, close in bars
    )
    return stock


@pytest.fixture
def stocks():
    # 600001: 10送3转2派1.5 on 2024-06-13.
    bonus = add_stock(
        "600001",
        "XSHG",
        [
            (DAY(2024, 6, 12), "12.90", "13.10", "12.80", "13.00"),
            (DAY(2024, 6, 13), "8.57", "8.70", "8.50", "8.60"),
        ],
    )
    # 000002: 10派2 on 2024-06-13, then 10配3 at 6.00 recorded 2024-06-19 (ex 2024-06-20).
    rights = add_stock(
        "000002",
        "XSHE",
        [
            (DAY(2024, 6, 12), "10.00", "10.00", "10.00", "10.00"),
            (DAY(2024, 6, 13), "9.80", "9.80", "9.80", "9.80"),
            (DAY(2024, 6, 19), "9.90", "9.90", "9.90", "9.90"),
            (DAY(2024, 6, 20), "9.10", "9.10", "9.10", "9.10"),
        ],
    )
    return bonus, rights


@pytest.fixture
def datacenter(settings):
    server = FakeEastmoneyDatacenter(
        bonus=[
            bonus_row("600001", "2024-06-13", cash=1.5, bonus=3, it=2, total=5),
            bonus_row("600001", None, cash=3.0, bonus=10, it=None, total=10),  # a plan
            bonus_row("000002", "2024-06-13", cash=2.0),
            bonus_row("600999", "2024-06-13", cash=1.0),  # a stock we do not hold
        ],
        rights=[rights_row("000002", "2024-06-19", 3, 6.00)] * 2,  # listed twice
    )
    url = server.start()
    settings.ETFSYNC_EASTMONEY_DATACENTER_URL = url
    settings.ETFSYNC_EASTMONEY_FUND_URL = url
    settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = url
    yield server
    server.stop()


def bar_row_versions() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, xmin::text FROM {DailyBar._meta.db_table}")
        return dict(cursor.fetchall())


def adjusted(stock, mode) -> dict:
    rows = DailyBar.objects.filter(security=stock).adjusted(mode)
    return {row["trade_date"]: (row["open"], row["close"], row["volume"]) for row in rows}


def test_stock_events_are_stored_per_share_and_adjust_to_hand_worked_values(datacenter, stocks):
    bonus, rights = stocks
    versions = bar_row_versions()

    run = sync_corporate_actions(ActionOptions(years=(2024,)))

    assert run.status == "succeeded", run.error_summary
    assert "1 row(s) of stocks we do not hold skipped" in run.error_summary
    events = CorporateAction.objects.order_by("security__code", "ex_date", "kind")
    assert [
        (e.security.code, e.ex_date, e.kind, e.cash, e.ratio, e.rights_price) for e in events
    ] == [
        ("000002", DAY(2024, 6, 13), "cash", D("0.2"), 1, 0),
        ("000002", DAY(2024, 6, 20), "rights", 0, D("1.3"), D("6")),
        ("600001", DAY(2024, 6, 13), "bonus", 0, D("1.3"), 0),
        ("600001", DAY(2024, 6, 13), "capitalisation", 0, D("1.2"), 0),
        ("600001", DAY(2024, 6, 13), "cash", D("0.15"), 1, 0),
    ]
    # 10送3转2派1.5: ref = (13.00 - 0.15) / (1 + 0.3 + 0.2) = 8.5667; one step for the day.
    (step,) = AdjustmentFactor.objects.filter(security=bonus)
    assert step.step.quantize(D("1e-12")) == D("1.517509727626")
    assert adjusted(bonus, "hfq") == {
        DAY(2024, 6, 12): (D("12.9000"), D("13.0000"), 1_000_000),
        DAY(2024, 6, 13): (D("13.0051"), D("13.0506"), 666_667),
    }
    assert adjusted(bonus, "qfq") == {
        DAY(2024, 6, 12): (D("8.5008"), D("8.5667"), 1_500_000),
        DAY(2024, 6, 13): (D("8.5700"), D("8.6000"), 1_000_000),
    }
    # 10派2: 10.00 / 9.80; 10配3 at 6.00: ref = (9.90 + 6.00 x 0.3) / 1.3 = 9.00, step 1.1.
    assert adjusted(rights, "hfq") == {
        DAY(2024, 6, 12): (D("10.0000"), D("10.0000"), 1_000_000),
        DAY(2024, 6, 13): (D("10.0000"), D("10.0000"), 1_000_000),
        DAY(2024, 6, 19): (D("10.1020"), D("10.1020"), 1_000_000),
        DAY(2024, 6, 20): (D("10.2143"), D("10.2143"), 769_231),
    }
    assert adjusted(rights, "qfq") == {
        DAY(2024, 6, 12): (D("8.9091"), D("8.9091"), 1_300_000),
        DAY(2024, 6, 13): (D("8.9091"), D("8.9091"), 1_300_000),
        DAY(2024, 6, 19): (D("9.0000"), D("9.0000"), 1_300_000),
        DAY(2024, 6, 20): (D("9.1000"), D("9.1000"), 1_000_000),
    }
    assert bar_row_versions() == versions


def test_one_securitys_events_by_code_and_a_rerun_changes_nothing(datacenter, stocks):
    first = sync_corporate_actions(ActionOptions(codes=("600001",)))
    assert first.status == "succeeded", first.error_summary
    assert first.items_total == 2  # the two reports for one code, every year at once
    # Asked by code, the plan without an ex-date comes too: it is not applied.
    assert "1 plan(s) without an ex-date not applied" in first.error_summary
    assert CorporateAction.objects.filter(security__code="600001").count() == 3
    assert not CorporateAction.objects.filter(security__code="000002").exists()
    again = sync_corporate_actions(ActionOptions(codes=("600001",)))
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 3)


def test_an_empty_answer_is_no_event_and_a_source_that_ignores_paging_stops(datacenter, stocks):
    datacenter.bonus, datacenter.rights = [], []
    run = sync_corporate_actions(ActionOptions(years=(2023,)))
    assert run.status == "succeeded", run.error_summary
    assert not CorporateAction.objects.exists()
    datacenter.bonus = [bonus_row("600001", "2024-06-13", cash=1.5, bonus=3, it=2, total=5)]
    datacenter.ignores_paging = True
    before = len(datacenter.paths("/api/data/v1/get"))
    run = sync_corporate_actions(ActionOptions(years=(2024,)))
    # Page 2 repeats page 1: two requests for the bonus report, one (empty) for rights; the
    # report failed (a paging fault), what page 1 gave is stored.
    assert len(datacenter.paths("/api/data/v1/get")) - before == 3
    assert run.status == "partial" and "page 2 repeats page 1" in run.error_summary
    assert CorporateAction.objects.filter(security__code="600001").count() == 3


def test_an_etf_job_leaves_stock_rows_alone_and_the_reverse(datacenter, stocks):
    sync_corporate_actions(ActionOptions(years=(2024,)))
    assert not CorporateAction.objects.filter(security__is_etf=True).exists()
    assert set(SyncRun.objects.values_list("provider", flat=True)) == {
        "eastmoney_funds,eastmoney_data"
    }


CROSS_CHECKED = [  # 600003: 10派0.5 on 2024-06-11, 10转10 on 2024-06-13
    (DAY(2024, 6, 10), "10.00", "10.00", "10.00", "10.00"),
    (DAY(2024, 6, 11), "10.50", "10.50", "10.50", "10.50"),
    (DAY(2024, 6, 12), "11.00", "11.00", "11.00", "11.00"),
    (DAY(2024, 6, 13), "5.60", "5.60", "5.60", "5.60"),
    (DAY(2024, 6, 14), "5.90", "5.90", "5.90", "5.90"),
]


@pytest.fixture
def cross_checked(datacenter):
    stock = add_stock("600003", "XSHG", CROSS_CHECKED)
    datacenter.funds[(1, "600003")] = FakeFund(
        "600003",
        1,
        "股票600003",
        [
            FakeBar(day, D(o), D(c), D(h), D(low), 10_000, D(c) * 1_000_000)
            for day, o, h, low, c in CROSS_CHECKED
        ],
    )
    datacenter.bonus = [bonus_row("600003", "2024-06-11", cash=0.5)]
    return stock


def test_the_cross_check_compares_share_changes_with_the_sources_affine_series(
    datacenter, cross_checked
):
    datacenter.bonus.append(bonus_row("600003", "2024-06-13", it=10))
    run = sync_corporate_actions(ActionOptions(years=(2024,), cross_check=True))
    assert run.status == "succeeded", run.error_summary
    assert run.warnings == 0, list(run.errors.values_list("message", flat=True))
    assert datacenter.paths("/api/qt/stock/kline/get")  # it did ask


def test_the_cross_check_names_a_share_change_the_reports_missed(datacenter, cross_checked):
    datacenter.unlisted_bonus = [bonus_row("600003", "2024-06-13", it=10)]
    run = sync_corporate_actions(ActionOptions(years=(2024,), cross_check=True))
    assert run.warnings == 1, list(run.errors.values_list("message", flat=True))
    (warning,) = run.errors.filter(severity="warning")
    assert warning.message.startswith(
        "600003 2024-06-14: the source's backward-adjusted series changes its share scale by "
        "2.0000 since 2024-06-12, our events by 1.0000 (its stock series are affine, cash "
        "subtracted, so only share changes are compared"
    )
