"""Warnings about price moves and previous closes that no corporate action explains."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from etfs.models import CorporateAction, StockInfo, SyncRunError
from etfs.sync.jumps import unexplained_jumps
from etfs.sync.lists import sync_etf_lists
from tests.adjustment.history import add_fund
from tests.database import queries_on_every_connection
from tests.sync.prices.market import LAST_DAY, PREVIOUS_DAY, fake_fund, shanghai, sync

DAYS = [dt.date(2024, 3, 25), dt.date(2024, 3, 26)]


def jumping_fund(close: str):
    return add_fund(
        "510300",
        "XSHG",
        [
            (DAYS[0], "4.000", "4.010", "3.990", "4.000", 1000),
            (DAYS[1], "4.000", max(close, "4.000"), min(close, "4.000"), close, 1000),
        ],
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("close", "threshold", "warned"),
    [("2.000", 0.20, True), ("5.000", 0.20, True), ("4.600", 0.20, False), ("5.000", 0.30, False)],
)
def test_a_close_to_close_move_beyond_the_threshold_warns(settings, close, threshold, warned):
    settings.ETFSYNC_JUMP_THRESHOLD = threshold
    fund = jumping_fund(close)
    warnings = unexplained_jumps([(fund.pk, "510300", DAYS[1], DAYS[1])])
    assert bool(warnings) is warned
    if close == "2.000":
        assert warnings[0][2] == (
            "510300 2024-03-26: the close moved -50.0% from the previous close 4 (2024-03-25), "
            "no corporate action known"
        )


@pytest.mark.django_db
def test_a_move_on_an_ex_date_is_explained():
    fund = jumping_fund("2.000")
    CorporateAction.objects.create(security=fund, ex_date=DAYS[1], kind="split", ratio=2)
    assert unexplained_jumps([(fund.pk, "510300", DAYS[1], DAYS[1])]) == []


@pytest.mark.django_db
def test_an_ex_date_without_a_bar_explains_the_move_of_the_next_bar():
    # 513500's split of 2022-03-29: no bar that day, the halved price shows on the next bar.
    fund = add_fund(
        "513500",
        "XSHG",
        [
            (dt.date(2022, 3, 28), "2.500", "2.520", "2.490", "2.510", 1000),
            (dt.date(2022, 3, 30), "1.250", "1.262", "1.240", "1.255", 2000),
        ],
    )
    CorporateAction.objects.create(
        security=fund, ex_date=dt.date(2022, 3, 29), kind="split", ratio=2
    )
    written = [(fund.pk, "513500", dt.date(2022, 3, 28), dt.date(2022, 3, 30))]
    assert unexplained_jumps(written) == []
    # An event before the previous bar explains nothing.
    CorporateAction.objects.filter(security=fund).update(ex_date=dt.date(2022, 3, 28))
    assert len(unexplained_jumps(written)) == 1


@pytest.mark.django_db(transaction=True)
class TestListPreviousClose:
    @pytest.fixture
    def one_day_behind(self, fake_eastmoney):
        sync_etf_lists()
        sync(now=shanghai(PREVIOUS_DAY, 16))
        fake_eastmoney.list_today_only = LAST_DAY
        fund = next(fund for fund in fake_eastmoney.funds.values() if fund.code == "510000")
        # The source's f18 (its previous close) is no longer the close we stored.
        fund.bars[-2].close += D("0.100")
        return fund

    def test_a_previous_close_that_differs_from_the_stored_one_warns(self, one_day_behind):
        run = sync(from_list=True)
        stored = one_day_behind.bars[-2].close - D("0.100")
        (warning,) = SyncRunError.objects.filter(run=run, severity="warning")
        assert warning.message == (
            f"510000 {LAST_DAY}: previous close {(stored + D('0.1')).normalize()} at the "
            f"source, {stored.normalize()} stored, no corporate action known"
        )
        assert warning.code == "510000" and run.warnings == 1

    def test_not_when_an_event_falls_on_the_day(self, one_day_behind):
        fund = StockInfo.objects.get(code="510000")
        CorporateAction.objects.create(security=fund, ex_date=LAST_DAY, kind="cash", cash="0.1")
        run = sync(from_list=True)
        assert not SyncRunError.objects.filter(run=run, severity="warning").exists()


# --- a first history: the parser's measure of its moves ---------------------------------------


def jump_query_ran(queries: list[str]) -> bool:
    return any("lag(bar.close)" in sql for sql in queries)


@pytest.mark.django_db(transaction=True)
class TestAFirstHistory:
    """A fund's first bars, parsed in date order, carry their largest move: the database's check
    runs only for a history with a move near the threshold, and finds what it always found."""

    def test_without_a_move_near_the_threshold_the_check_is_not_asked(self, start_fake_eastmoney):
        start_fake_eastmoney(3)
        sync_etf_lists()

        with queries_on_every_connection() as queries:
            run = sync()

        assert run.rows_created > 0 and run.warnings == 0
        assert not jump_query_ran(queries)

    def test_a_jump_in_it_is_found(self, start_fake_eastmoney):
        server = start_fake_eastmoney(3)
        fund = fake_fund(server, "510001")
        jumped = fund.bars[20]
        for name in ("open", "close", "high", "low", "amount"):  # the same shares, tripled
            setattr(jumped, name, getattr(jumped, name) * 3)
        sync_etf_lists()

        with queries_on_every_connection() as queries:
            run = sync()

        assert jump_query_ran(queries)
        messages = set(
            SyncRunError.objects.filter(run=run, code="510001").values_list("message", flat=True)
        )
        # Up on the tripled day, down on the next.
        assert {message.split(":")[0] for message in messages} == {
            f"510001 {fund.bars[20].day}",
            f"510001 {fund.bars[21].day}",
        }
        assert all("no corporate action known" in message for message in messages)

    def test_bars_already_stored_are_checked_by_the_database(self, start_fake_eastmoney):
        start_fake_eastmoney(3)
        sync_etf_lists()
        sync(now=shanghai(PREVIOUS_DAY, 16))

        with queries_on_every_connection() as queries:
            sync()

        assert jump_query_ran(queries)
