"""Events beyond what a security can have are refused with a message; none breaks a run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from etfs.models import AdjustmentFactor, CorporateAction, DailyBar, SyncRun
from etfs.sync.factors import recompute_factors
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests.adjustment.history import DIVIDEND_BARS, DIVIDEND_DAY, add_event, add_fund
from tests.fakes.eastmoney_funds import FakeDividend, FakeSplit
from tests.sync.test_corporate_actions import adjusted, run_command

pytestmark = pytest.mark.django_db


def last_run() -> SyncRun:
    return SyncRun.objects.filter(kind="corporate_actions").first()


@pytest.mark.parametrize(
    ("dividends", "splits", "message"),
    [
        ([FakeDividend("510050", "上证50ETF", "2024-03-27", "12000000000")], [], "cash"),
        ([], [FakeSplit("513500", "标普500ETF", "2024-03-26", "100000000")], "ratio"),
        ([], [FakeSplit("513500", "标普500ETF", "2024-03-26", "0.00000000001")], "ratio"),
    ],
)
def test_an_event_beyond_the_limits_is_rejected_and_the_run_goes_on(
    fake, synced_prices, dividends, splits, message
):
    fake.dividends, fake.splits = dividends, splits
    run_command("--year", "2024")
    run = last_run()
    assert run.status == "succeeded", run.error_summary
    assert run.rows_rejected == 1 and CorporateAction.objects.count() == 0
    (rejected,) = run.errors.filter(severity="rejected")
    assert message in rejected.message
    assert "outside" in rejected.message or "not below" in rejected.message


def test_cash_just_below_the_close_is_refused_by_the_factor_and_reported(fake, synced_prices):
    # 510050 closed at 2.750 before its ex-date: 2.74999999 leaves a reference of 1e-8.
    fake.dividends = [FakeDividend("510050", "上证50ETF", "2024-03-27", "2.74999999")]
    run_command("--year", "2024")
    run = last_run()
    assert run.status == "succeeded", run.error_summary
    (warning,) = run.errors.filter(severity="warning")
    assert "more than 10000 times away from the previous close 2.7500" in warning.message
    assert "factor 1 used" in warning.message
    # The split fund's factors are there; the fund with the bad event is adjusted by one.
    assert adjusted("513500", "qfq")[dt.date(2024, 3, 25)][1] == D("1.2550")
    assert adjusted("510050", "qfq")[dt.date(2024, 3, 25)][1] == D("2.7500")
    # Re-reading the older bars of every fund recomputes the factors without a traceback.
    again = sync_etf_prices(PriceOptions(start=dt.date(2024, 3, 1)))
    assert again.status == "succeeded", again.error_summary


def test_a_stored_event_beyond_the_limits_never_breaks_another_funds_factors():
    # Stored before the limits existed: a split of 1e8 and cash 1e-8 below the close.
    bad = add_fund("513500", "XSHG", DIVIDEND_BARS)
    add_event(bad, DIVIDEND_DAY, "split", ratio="100000000")
    worse = add_fund("510300", "XSHG", DIVIDEND_BARS)
    add_event(worse, DIVIDEND_DAY, "cash", cash="2.74999999")
    good = add_fund("510050", "XSHG", DIVIDEND_BARS)
    add_event(good, DIVIDEND_DAY, "cash", cash="0.055")
    update = recompute_factors([bad.pk, worse.pk, good.pk])
    assert {security_id for security_id, _ in update.problems} == {bad.pk, worse.pk}
    assert AdjustmentFactor.objects.get(security=good).step == D("1.02040816326530612245")
    assert AdjustmentFactor.objects.get(security=bad).step == 1
    rows = DailyBar.objects.filter(security=good).adjusted("qfq")
    assert [row["close"] for row in rows] == [D("2.6950"), D("2.7100")]


def test_two_rows_of_one_event_that_disagree_are_reported_not_last_wins(fake, synced_prices):
    fake.dividends = [
        FakeDividend("510050", "上证50ETF", "2024-03-27", "0.0550"),
        FakeDividend("510050", "上证50ETF", "2024-03-27", "0.5500"),
    ]
    fake.splits = [FakeSplit("513500", "标普500ETF", "2024-03-26", "2.000000")] * 2
    run_command("--year", "2024")
    run = last_run()
    (rejected,) = run.errors.filter(severity="rejected")
    assert rejected.message == (
        "510050 2024-03-27: cash event listed more than once with different values; the "
        "stored event (if any) is kept"
    )
    # The same row twice is one event.
    assert list(CorporateAction.objects.values_list("security__code", "kind", "ratio")) == [
        ("513500", "split", D(2))
    ]
