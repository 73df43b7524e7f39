"""The ETF list sync against the fake Eastmoney: what lands in StockInfo and on the run."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from etfs.models import ListingStatus, StockInfo, SyncKind, SyncRun, SyncRunError, SyncStatus
from etfs.sync.lists import sync_etf_lists
from etfs.sync.runs import SyncAlreadyRunning, scope_for
from tests.conftest import HISTORY
from tests.factories import make_run, make_security
from tests.fakes.eastmoney import FakeFund, make_funds

pytestmark = pytest.mark.django_db


def etfs_by_key():
    return {(row.code, row.exchange): row for row in StockInfo.objects.all()}


def listed_codes(exchange=None):
    return set(StockInfo.objects.etfs(exchange).values_list("code", flat=True))


class TestFirstSync:
    def test_fills_stockinfo_with_the_funds_of_both_exchanges(self, fake_eastmoney):
        run = sync_etf_lists()

        stored = etfs_by_key()
        assert set(stored) == {
            ("510000", "XSHG"),
            ("510001", "XSHG"),
            ("510002", "XSHG"),
            ("159000", "XSHE"),
            ("159001", "XSHE"),
            ("159002", "XSHE"),
        }
        fund = stored[("159001", "XSHE")]
        assert fund.name == "深ETF1"
        assert fund.is_etf
        assert fund.status == ListingStatus.LISTED
        assert fund.first_seen_at == fund.last_seen_at
        assert fund.first_seen_at is not None
        assert run.status == SyncStatus.SUCCEEDED

    def test_the_run_counts_what_it_did(self, fake_eastmoney):
        run = sync_etf_lists(trigger="command")

        run.refresh_from_db()
        assert run.status == SyncStatus.SUCCEEDED
        assert run.trigger == "command"
        assert run.parameters == {"exchanges": ["XSHE", "XSHG"]}
        assert (run.items_total, run.items_done, run.items_failed) == (2, 2, 0)
        assert run.rows_fetched == 6
        assert run.rows_created == 6
        assert (run.rows_updated, run.rows_unchanged, run.rows_delisted) == (0, 0, 0)
        assert run.rows_rejected == 0
        assert run.error_summary == ""
        assert run.started_at <= run.finished_at
        assert not run.errors.exists()

    def test_the_exchange_comes_from_the_market_id_not_the_code(self, fake_eastmoney):
        # A Shenzhen-looking code on the Shanghai board.
        fake_eastmoney.funds[(0, "159002")].market = 1
        fake_eastmoney.funds[(1, "159002")] = fake_eastmoney.funds.pop((0, "159002"))

        sync_etf_lists()

        assert StockInfo.objects.get(code="159002").exchange == "XSHG"

    def test_progress_is_reported_per_page(self, start_fake_eastmoney):
        start_fake_eastmoney(250)
        seen = []

        sync_etf_lists(progress=lambda done, total, label: seen.append((done, total, label)))

        assert seen == [
            (100, 250, "list page 1"),
            (200, 250, "list page 2"),
            (250, 250, "list page 3"),
        ]

    def test_a_stock_already_stored_becomes_an_etf(self, fake_eastmoney):
        make_security("510000", "XSHG", name="old", is_etf=False)

        run = sync_etf_lists()

        fund = StockInfo.objects.get(code="510000", exchange="XSHG")
        assert (fund.is_etf, fund.name) == (True, "沪ETF0")
        assert (run.rows_created, run.rows_updated) == (5, 1)


class TestSecondSync:
    def test_nothing_changed_counts_everything_unchanged(self, fake_eastmoney):
        first = sync_etf_lists()
        seen_first = StockInfo.objects.get(code="510000").last_seen_at

        second = sync_etf_lists()

        assert second.pk != first.pk
        assert second.status == SyncStatus.SUCCEEDED
        assert (second.rows_created, second.rows_updated, second.rows_unchanged) == (0, 0, 6)
        assert second.rows_delisted == 0
        assert StockInfo.objects.count() == 6
        assert StockInfo.objects.get(code="510000").last_seen_at > seen_first

    def test_a_renamed_fund_counts_as_updated(self, fake_eastmoney):
        sync_etf_lists()
        fake_eastmoney.funds[(0, "159001")].name = "深ETF1改名"

        run = sync_etf_lists()

        assert (run.rows_created, run.rows_updated, run.rows_unchanged) == (0, 1, 5)
        assert StockInfo.objects.get(code="159001").name == "深ETF1改名"


class TestDelisting:
    """40 funds: 20 per exchange, so one missing fund stays above the 90 % shrink guard."""

    @pytest.fixture
    def server(self, start_fake_eastmoney):
        server = start_fake_eastmoney(40)
        sync_etf_lists()
        return server

    def test_a_fund_gone_from_a_whole_list_is_marked_delisted_not_deleted(self, server):
        server.remove("510003")

        run = sync_etf_lists()

        assert run.status == SyncStatus.SUCCEEDED
        assert run.rows_delisted == 1
        assert run.rows_unchanged == 39
        gone = StockInfo.objects.get(code="510003")
        assert gone.status == ListingStatus.DELISTED
        assert gone.delisted_at is not None
        assert StockInfo.objects.count() == 40
        assert "510003" not in listed_codes()

    def test_a_delisted_fund_that_reappears_is_listed_again(self, server):
        fund = server.funds[(1, "510003")]
        server.remove("510003")
        sync_etf_lists()
        server.add(fund)

        run = sync_etf_lists()

        back = StockInfo.objects.get(code="510003")
        assert back.status == ListingStatus.LISTED
        assert back.delisted_at is None
        assert (run.rows_created, run.rows_updated, run.rows_unchanged) == (0, 1, 39)
        assert StockInfo.objects.count() == 40

    def test_a_list_that_shrank_too_much_delists_nothing(self, server):
        for code in [f"{510000 + index}" for index in range(15)]:
            server.remove(code)

        run = sync_etf_lists()

        assert run.status == SyncStatus.PARTIAL
        assert "XSHG: the new list has 5 funds against 20 listed before" in run.error_summary
        assert "nothing marked delisted" in run.error_summary
        assert run.rows_delisted == 0
        assert not StockInfo.objects.filter(status=ListingStatus.DELISTED).exists()
        assert len(listed_codes("XSHG")) == 20

    def test_the_other_exchange_still_delists_when_one_shrank(self, server):
        for code in [f"{510000 + index}" for index in range(15)]:
            server.remove(code)
        server.remove("159004")

        run = sync_etf_lists()

        assert run.status == SyncStatus.PARTIAL
        assert run.rows_delisted == 1
        assert StockInfo.objects.get(code="159004").status == ListingStatus.DELISTED

    def test_an_empty_list_delists_nothing(self, server):
        server.funds.clear()

        run = sync_etf_lists()

        assert run.status == SyncStatus.PARTIAL
        assert "XSHG: the source listed no funds" in run.error_summary
        assert "XSHE: the source listed no funds" in run.error_summary
        assert len(listed_codes()) == 40

    def test_a_fund_whose_row_was_rejected_is_not_delisted(self, server):
        server.funds[(1, "510003")].name = "-"

        run = sync_etf_lists()

        assert run.rows_rejected == 1
        assert run.errors.get().code == "510003"
        assert StockInfo.objects.get(code="510003").status == ListingStatus.LISTED


class TestFailures:
    def test_an_unreachable_source_fails_the_run_with_a_clear_error(self, provider_down):
        make_security("510300", "XSHG")

        run = sync_etf_lists()

        run.refresh_from_db()
        assert run.status == SyncStatus.FAILED
        host = provider_down.removeprefix("http://")
        assert host in run.error_summary
        assert "refused" in run.error_summary.lower()
        assert "\n" not in run.error_summary
        [error] = run.errors.all()
        assert error.severity == SyncRunError.Severity.ERROR
        assert host in error.message
        assert run.finished_at is not None
        assert StockInfo.objects.get(code="510300").status == ListingStatus.LISTED

    def test_a_captcha_page_fails_the_run(self, fake_eastmoney):
        fake_eastmoney.fail("html", times=3, path="clist")

        run = sync_etf_lists()

        assert run.status == SyncStatus.FAILED
        assert "HTML page" in run.error_summary
        assert not StockInfo.objects.exists()

    def test_a_failure_on_page_two_keeps_page_one_and_delists_nothing(self, start_fake_eastmoney):
        server = start_fake_eastmoney(250)
        sync_etf_lists()
        server.remove("510000")
        server.fail("500", times=3, path="clist", page=2)  # one try and two retries

        run = sync_etf_lists()

        run.refresh_from_db()
        assert run.status == SyncStatus.PARTIAL
        assert "1 page(s)" in run.error_summary
        assert "HTTP 500" in run.error_summary
        assert run.rows_fetched == 100  # page 1: codes sorted descending, 510000 is on page 3
        assert run.rows_unchanged == 100
        assert run.rows_delisted == 0
        assert StockInfo.objects.get(code="510000").status == ListingStatus.LISTED
        [error] = run.errors.all()
        assert "HTTP 500" in error.message

    def test_a_failure_on_page_two_of_a_first_sync_stores_page_one(self, start_fake_eastmoney):
        server = start_fake_eastmoney(250)
        server.fail("500", times=3, path="clist", page=2)

        run = sync_etf_lists()

        assert run.status == SyncStatus.PARTIAL
        assert run.rows_created == 100
        assert StockInfo.objects.count() == 100

    def test_a_run_of_the_same_scope_already_running_is_refused(self, fake_eastmoney):
        running = make_run(
            status="running", scope=scope_for("etf_lists", {"exchanges": ["XSHE", "XSHG"]})
        )

        with pytest.raises(SyncAlreadyRunning) as caught:
            sync_etf_lists()

        assert caught.value.run == running
        assert not StockInfo.objects.exists()
        assert fake_eastmoney.requests == []


class TestExchanges:
    def test_one_exchange_touches_only_its_funds(self, start_fake_eastmoney):
        server = start_fake_eastmoney(40)
        sync_etf_lists()
        server.remove("159004")  # a Shenzhen fund leaves
        server.funds[(0, "159005")].name = "renamed"

        run = sync_etf_lists(exchanges=["xshg"])

        assert run.parameters == {"exchanges": ["XSHG"]}
        assert (run.items_total, run.rows_fetched, run.rows_unchanged) == (1, 20, 20)
        assert run.rows_delisted == run.rows_updated == 0
        assert StockInfo.objects.get(code="159004").status == ListingStatus.LISTED
        assert StockInfo.objects.get(code="159005").name == "深ETF5"

    def test_a_first_sync_of_one_exchange_creates_only_its_funds(self, fake_eastmoney):
        sync_etf_lists(exchanges=["XSHG"])

        assert set(StockInfo.objects.values_list("exchange", flat=True)) == {"XSHG"}
        assert StockInfo.objects.count() == 3

    def test_an_unknown_exchange_is_refused_before_anything_happens(self, fake_eastmoney):
        with pytest.raises(ValueError, match="unknown exchange XNYS"):
            sync_etf_lists(exchanges=["XSHG", "XNYS"])

        assert not SyncRun.objects.exists()
        assert fake_eastmoney.requests == []


class TestQueryCount:
    """The number of queries must not grow with the number of funds."""

    # The same bound for 6 funds and for 250; list pages add only a heartbeat each.
    MAX_QUERIES = 40

    @pytest.mark.parametrize("funds", [6, 250])
    def test_first_sync(self, start_fake_eastmoney, django_assert_max_num_queries, funds):
        start_fake_eastmoney(funds)

        with django_assert_max_num_queries(self.MAX_QUERIES):
            run = sync_etf_lists()

        assert run.rows_created == funds

    @pytest.mark.parametrize("funds", [6, 250])
    def test_sync_with_changes(self, start_fake_eastmoney, django_assert_max_num_queries, funds):
        change_after_first_sync(start_fake_eastmoney(funds))

        with django_assert_max_num_queries(self.MAX_QUERIES):
            run = sync_etf_lists()

        assert run.rows_updated > 0

    def test_as_many_queries_for_210_funds_as_for_290(self, start_fake_eastmoney):
        # Both lists take three pages, so any difference would be per fund.
        counts = []
        for funds in (210, 290):
            StockInfo.objects.all().delete()
            server = start_fake_eastmoney(funds)
            with CaptureQueriesContext(connection) as first:
                sync_etf_lists()
            change_after_first_sync(server)
            with CaptureQueriesContext(connection) as second:
                run = sync_etf_lists()
            assert run.rows_delisted == 1
            counts.append((len(first), len(second)))

        assert counts[0] == counts[1]


def change_after_first_sync(server):
    """Sync, then remove one fund and rename every third."""
    sync_etf_lists()
    server.remove("510001")
    for fund in list(server.funds.values())[::3]:
        fund.name += " new"
    return server


class TestCancelledWhilePaging:
    """A cancel seen between two pages of the fund list keeps the pages fetched: their funds
    are written, and no fund is marked delisted for missing from a list cut short."""

    def test_the_pages_fetched_are_written_and_nothing_is_delisted(self, start_fake_eastmoney):
        server = start_fake_eastmoney(250)  # three pages of 100
        gone = make_security("519999")  # on no list: a whole list would delist it

        run = sync_etf_lists(progress=lambda *_: cancel_lists())

        assert run.status == SyncStatus.CANCELLED
        assert "the list was stopped after 2 page(s)" in run.error_summary
        assert "nothing marked delisted" in run.error_summary
        assert len(server.paths("clist")) == 2
        assert StockInfo.objects.etfs().exclude(pk=gone.pk).count() == 200
        assert (run.rows_created, run.rows_delisted, run.items_done) == (200, 0, 2)
        gone.refresh_from_db()
        assert gone.status == ListingStatus.LISTED
        assert len(server.funds) == 250


def cancel_lists() -> None:
    SyncRun.objects.filter(kind=SyncKind.ETF_LISTS).update(cancel_requested=True)


class TestStocksStayStocks:
    """A fund list that names a stored stock's code on its exchange (a source that sends a
    stock row among its funds) never turns the stock into an ETF: the row belongs to the
    stock universe, and the other funds are written as usual."""

    def test_a_stock_named_on_the_fund_list_is_left_alone(self, start_fake_eastmoney):
        funds = make_funds(4, *HISTORY)
        server = start_fake_eastmoney(funds=[*funds, FakeFund("600000", 1, "浦发银行ETF")])
        stock = make_security("600000", is_etf=False, name="浦发银行", board="main")

        run = sync_etf_lists()

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        stock.refresh_from_db()
        assert (stock.is_etf, stock.name, stock.board) == (False, "浦发银行", "main")
        assert StockInfo.objects.etfs().count() == len(server.funds) - 1
