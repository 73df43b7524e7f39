"""The stock list sync: Eastmoney's four boards, the exchanges' lists, ST, names, delisting."""

import datetime as dt

import pytest
import time_machine

from etfs.market import SHANGHAI
from etfs.models import (
    ListingStatus,
    SecurityName,
    StockInfo,
    SyncKind,
    SyncRun,
    SyncRunError,
    SyncStatus,
)
from etfs.sync.stock_lists import sync_stock_lists
from tests.factories import make_bars
from tests.stock_market import DELISTED_ON, SSE_ONLY

pytestmark = pytest.mark.django_db
WARNING = SyncRunError.Severity.WARNING
MONDAY = dt.datetime(2024, 4, 1, 18, tzinfo=SHANGHAI)


def stock(code: str, exchange: str | None = None) -> StockInfo:
    rows = StockInfo.objects.filter(code=code, is_etf=False)
    return rows.get(exchange=exchange) if exchange else rows.get()


def warnings(run) -> list[str]:
    return list(run.errors.filter(severity=WARNING).values_list("message", flat=True))


def etf_rows() -> list[dict]:
    return list(StockInfo.objects.filter(is_etf=True).order_by("pk").values())


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


@pytest.mark.usefixtures("monday")
class TestFirstSync:
    def test_every_board_with_its_exchange_and_listing_date(self, stock_market):
        run = sync_stock_lists()

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert run.provider == "eastmoney,sse,szse"
        boards = dict(StockInfo.objects.stocks().values_list("code", "board").order_by("code"))
        assert boards == {
            "000001": "main",
            "000002": "main",
            "300001": "chinext",
            "300002": "chinext",
            "600000": "main",
            "600001": "main",
            "688001": "star",
            "688002": "star",
            SSE_ONLY: "main",
        }
        assert stock("600000").exchange == "XSHG" and stock("300001").exchange == "XSHE"
        assert stock("688002").list_date == stock_market.stock("688002", 1).list_date
        assert not StockInfo.objects.filter(is_etf=True).exists()  # this run lists no ETF

    def test_st_comes_from_the_risk_warning_board(self, stock_market):
        sync_stock_lists()

        assert list(StockInfo.objects.filter(is_st=True).values_list("code", flat=True)) == [
            "000002"
        ]
        asked = {r.args.get("fs") for r in stock_market.eastmoney.paths("clist")}
        assert "m:0 f:4,m:1 f:4" in asked

    def test_a_stock_only_on_the_sse_list_is_added_and_warned_about(self, stock_market):
        run = sync_stock_lists()

        only = stock(SSE_ONLY)
        assert (only.provider, only.on_exchange_list, only.status) == ("sse", True, "listed")
        assert f"on the SSE list, not on Eastmoney's: {SSE_ONLY}" in warnings(run)
        assert run.warnings == len(warnings(run))

    def test_delisted_stocks_come_from_the_exchanges_never_from_the_otc_board(self, stock_market):
        sync_stock_lists()

        gone = stock("600087")
        assert (gone.status, gone.delist_date) == (ListingStatus.DELISTED, DELISTED_ON)
        assert stock("000003").delist_date == dt.date(2002, 6, 14)
        assert not StockInfo.objects.filter(code__in=["400001", "900950"]).exists()
        asked = {r.args.get("fs") for r in stock_market.eastmoney.paths("clist")}
        assert "m:0 s:3" not in asked

    def test_an_etf_with_the_same_six_digits_on_the_other_exchange_stays_apart(self, stock_market):
        from etfs.sync.lists import sync_etf_lists

        sync_etf_lists()
        before = etf_rows()

        run = sync_stock_lists()

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert etf_rows() == before
        twin = StockInfo.objects.get(code="600000", exchange="XSHE")
        assert twin.is_etf and twin.board == ""
        assert stock("600000", "XSHG").name == "沪主板0"


def test_a_stock_that_becomes_st_and_back_keeps_both_names(stock_market):
    original = stock_market.stock("600001", 1)
    with time_machine.travel(MONDAY, tick=False):
        sync_stock_lists()
    stock_market.replace(original, st=True, name="ST沪主板1")
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=False):
        sync_stock_lists()
        assert stock("600001").is_st
    stock_market.replace(original, st=False)
    with time_machine.travel(MONDAY + dt.timedelta(days=2), tick=False):
        sync_stock_lists()

    security = stock("600001")
    assert not security.is_st and security.name == "沪主板1"
    names = SecurityName.objects.filter(security=security).values_list("name", "first_seen")
    assert list(names) == [
        ("沪主板1", dt.date(2024, 4, 1)),
        ("ST沪主板1", dt.date(2024, 4, 2)),
        ("沪主板1", dt.date(2024, 4, 3)),
    ]


def test_a_delisted_stock_keeps_its_bars_and_gets_its_delisting_date(stock_market):
    gone = stock_market.stock("600087", 1)
    stock_market.replace(gone, listed=True, name="*ST长油")
    stock_market.exchanges.stocks = [s for s in stock_market.exchanges.stocks if s.code != "600087"]
    with time_machine.travel(MONDAY, tick=False):
        sync_stock_lists()
    security = stock("600087")
    assert security.status == ListingStatus.LISTED
    make_bars(security, 20)
    stock_market.replace(gone, listed=False)
    from tests.fakes.exchange_stocks import ExchangeStock

    stock_market.exchanges.stocks.append(
        ExchangeStock("600087", "XSHG", "*ST长油", dt.date(1997, 6, 12), DELISTED_ON)
    )

    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=False):
        run = sync_stock_lists()

    security.refresh_from_db()
    assert (security.status, security.delist_date) == (ListingStatus.DELISTED, DELISTED_ON)
    assert security.bars.count() == 20
    assert run.rows_delisted == 1


def test_a_stock_leaving_the_list_unannounced_is_delisted_only_when_the_list_is_whole(
    stock_market, settings
):
    settings.ETFSYNC_LIST_SHRINK_GUARD = 0.5  # four stocks an exchange: one may leave
    with time_machine.travel(MONDAY, tick=False):
        sync_stock_lists()
    stock_market.eastmoney.remove("300002")
    stock_market.exchanges.stocks = [s for s in stock_market.exchanges.stocks if s.code != "300002"]
    stock_market.eastmoney.shrink_list(0.2)

    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=False):
        run = sync_stock_lists()

    assert run.status == SyncStatus.PARTIAL
    assert "nothing marked delisted" in run.error_summary
    assert stock("300002").status == ListingStatus.LISTED

    stock_market.eastmoney.recover()
    with time_machine.travel(MONDAY + dt.timedelta(days=2), tick=False):
        run = sync_stock_lists()

    assert stock("300002").status == ListingStatus.DELISTED
    assert stock("300002").delist_date is None  # on no delisted list: no date is invented
    assert StockInfo.objects.filter(code="300002").exists()  # never deleted


@pytest.mark.usefixtures("monday")
def test_one_exchange(stock_market):
    run = sync_stock_lists(exchanges=["xshe"])

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert set(StockInfo.objects.values_list("exchange", flat=True)) == {"XSHE"}


@pytest.mark.usefixtures("monday")
def test_a_cancel_between_pages_writes_the_pages_fetched_and_delists_nothing(stock_market):
    """The stocks of the pages fetched are written; the exchanges' lists are not asked, and no
    stock is marked delisted for missing from a list cut short."""
    stock_market.eastmoney.page_cap = 4
    stored = StockInfo.objects.create(code="600999", exchange="XSHG", name="沪外", is_etf=False)
    stock_market.eastmoney.requests.clear()

    def cancel(*_):
        SyncRun.objects.filter(kind=SyncKind.STOCK_LISTS).update(cancel_requested=True)

    run = sync_stock_lists(progress=cancel)

    assert run.status == SyncStatus.CANCELLED
    assert "the list was stopped after 2 page(s)" in run.error_summary
    assert len(stock_market.eastmoney.paths("clist")) == 2
    assert StockInfo.objects.stocks().exclude(pk=stored.pk).count() == 8
    assert (run.rows_created, run.rows_delisted) == (8, 0)
    assert stock_market.exchanges.requests == []
    stored.refresh_from_db()
    assert stored.status == ListingStatus.LISTED
