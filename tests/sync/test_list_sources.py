"""The list sync with both kinds of list: Eastmoney's (primary) and the exchanges' own."""

import datetime as dt
import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from etfs.models import (
    ListingStatus,
    SourceCooldown,
    StockInfo,
    SyncRun,
    SyncRunError,
    SyncStatus,
)
from etfs.sync.cooldown import start_cooldown
from etfs.sync.lists import latest_list_differences, sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests.conftest import HISTORY_END, HISTORY_START
from tests.fakes.eastmoney import FakeFund, make_bars
from tests.fakes.exchanges import ExchangeFund, FakeExchanges

pytestmark = pytest.mark.django_db

ALL_SOURCES = [
    "etfs.providers.eastmoney.EastmoneyClient",
    "etfs.providers.exchanges.SseFundList",
    "etfs.providers.exchanges.SzseFundList",
]
WARNING = SyncRunError.Severity.WARNING
REJECTED = SyncRunError.Severity.REJECTED


def exchange_funds() -> list[ExchangeFund]:
    """The exchanges' view of the fake Eastmoney's six funds: SSE lacks 510002 and has two
    funds Eastmoney does not list; SZSE agrees with Eastmoney."""
    return [
        ExchangeFund("510000", "XSHG", "沪深300ETF全称", dt.date(2012, 5, 28), "03"),
        ExchangeFund("510001", "XSHG", "标普500ETF", dt.date(2014, 1, 15), "04", "SPX", "标普500"),
        ExchangeFund("563330", "XSHG", "中证A500ETF", dt.date(2024, 11, 12), "03"),
        ExchangeFund("589100", "XSHG", "科创ETF", None, "09"),
        ExchangeFund("159000", "XSHE", "深一", dt.date(2011, 12, 9), investment_type="债券基金"),
        ExchangeFund("159001", "XSHE", "深二", dt.date(2013, 1, 4), index_name="创业板指数"),
        ExchangeFund("159002", "XSHE", "深三", dt.date(2015, 6, 1)),
    ]


@pytest.fixture
def exchanges(settings):
    server = FakeExchanges(exchange_funds())
    server.start()
    settings.ETFSYNC_SSE_QUERY_URL = server.url
    settings.ETFSYNC_SZSE_URL = server.url
    settings.ETFSYNC_PROVIDERS = ALL_SOURCES
    yield server
    server.stop()


def fund(code: str) -> StockInfo:
    return StockInfo.objects.get(code=code)


def messages(run, severity) -> list[str]:
    return list(run.errors.filter(severity=severity).values_list("message", flat=True))


class TestBothLists:
    def test_every_fund_gets_its_profile_from_its_exchange(self, fake_eastmoney, exchanges):
        run = sync_etf_lists()

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert run.provider == "eastmoney,sse,szse"
        spx = fund("510001")
        assert spx.name == "沪ETF1"  # Eastmoney's name wins
        assert (spx.list_date, spx.category) == (dt.date(2014, 1, 15), "Cross-border ETF")
        assert (spx.tracking_index_code, spx.tracking_index_name) == ("SPX", "标普500")
        assert spx.fund_manager == "华泰柏瑞基金管理有限公司"
        assert spx.provider == "eastmoney" and spx.on_exchange_list is True
        bond = fund("159000")
        assert (bond.list_date, bond.category) == (dt.date(2011, 12, 9), "Bond ETF")
        assert (bond.tracking_index_code, bond.tracking_index_name) == ("", "沪深300指数")
        assert fund("159001").tracking_index_name == "创业板指数"

    def test_the_differences_both_ways_are_warnings_on_the_run(self, fake_eastmoney, exchanges):
        run = sync_etf_lists()

        assert messages(run, WARNING) == [
            "on the SSE list, not on Eastmoney's: 563330, 589100",
            "on Eastmoney's list, not on the SSE list: 510002",
        ]
        assert run.warnings == 2
        assert latest_list_differences() == (run, messages(run, WARNING))

    def test_a_fund_only_an_exchange_lists_is_added_and_gets_bars(self, fake_eastmoney, exchanges):
        fake_eastmoney.add(
            FakeFund("563330", 1, "东财不列", make_bars(99, HISTORY_START, HISTORY_END))
        )
        fake_eastmoney.unlisted.add("563330")  # the k-lines serve it, the list does not

        sync_etf_lists()
        prices = sync_etf_prices(PriceOptions(codes=("563330",), start=HISTORY_START))

        added = fund("563330")
        assert (added.name, added.provider, added.status) == ("中证A500ETF", "sse", "listed")
        assert added.category == "Equity ETF (cross-market)"
        assert added.on_exchange_list is True
        assert prices.status == SyncStatus.SUCCEEDED, prices.error_summary
        assert added.bars.count() == len(fake_eastmoney.funds[(1, "563330")].bars) > 0

    def test_a_fund_only_eastmoney_lists_stays_listed_and_is_flagged(
        self, fake_eastmoney, exchanges
    ):
        sync_etf_lists()

        only_eastmoney = fund("510002")
        assert only_eastmoney.status == ListingStatus.LISTED
        assert only_eastmoney.on_exchange_list is False
        assert only_eastmoney.list_date is None and only_eastmoney.category == ""
        assert fund("510000").on_exchange_list is True

    def test_the_szse_list_in_tab2_beyond_its_first_page_is_read_whole(
        self, fake_eastmoney, exchanges
    ):
        """Issue 23 item 9: paging tab1 re-read page 1 of a tab2 list: funds "listed twice",
        a fund beyond page 1 never stored, funds flagged missing, and the run succeeded."""
        exchanges.szse_list_tabkey = "tab2"  # three Shenzhen funds, two a page

        run = sync_etf_lists()

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert not any("twice" in message for message in messages(run, REJECTED))
        for code in ("159000", "159001", "159002"):
            assert fund(code).on_exchange_list is True
            assert fund(code).list_date is not None
        assert not any("159" in message for message in messages(run, WARNING))

    def test_an_exchange_list_that_ignores_the_page_is_a_paging_fault_the_run_says(
        self, fake_eastmoney, exchanges
    ):
        exchanges.ignores_paging = {"XSHE"}

        run = sync_etf_lists()

        assert "could not read the SZSE list: SZSE report 1945: page 2 repeats page 1" in (
            run.error_summary
        )
        szse_requests = [r for r in exchanges.requests if r.args.get("CATALOGID") == "1945"]
        assert len(szse_requests) == 2
        # An incomplete list flags no fund as missing from it.
        assert fund("159000").on_exchange_list is None

    def test_an_exchange_list_that_is_down_costs_profiles_only(self, fake_eastmoney, exchanges):
        exchanges.fail("XSHE", "down")

        run = sync_etf_lists()

        assert run.status == SyncStatus.SUCCEEDED
        assert run.provider == "eastmoney,sse"
        assert "could not read the SZSE list" in run.error_summary
        [note] = [m for m in messages(run, WARNING) if "SZSE" in m]
        assert "HTTP 503" in note
        assert fund("159000").list_date is None and fund("159000").on_exchange_list is None
        assert fund("510000").list_date == dt.date(2012, 5, 28)


class TestEastmoneyBanned:
    def test_the_exchange_lists_add_funds_and_nothing_is_delisted(self, fake_eastmoney, exchanges):
        sync_etf_lists()
        fake_eastmoney.remove("510000")  # would be delisted by a whole Eastmoney list
        StockInfo.objects.filter(code="563330").delete()
        exchanges.funds.append(ExchangeFund("588000", "XSHG", "科创50ETF", dt.date(2020, 11, 16)))
        start_cooldown("eastmoney", "HTTP 403")
        fake_eastmoney.requests.clear()

        run = sync_etf_lists()

        assert fake_eastmoney.requests == []
        assert run.status == SyncStatus.PARTIAL
        assert run.provider == "sse,szse"
        assert run.error_summary.startswith("not started: eastmoney is refusing requests")
        assert run.error_summary.endswith("nothing marked delisted")
        assert run.rows_delisted == 0
        assert set(StockInfo.objects.etfs().values_list("code", flat=True)) >= {
            "510000",
            "510002",
            "563330",
            "588000",
        }
        assert fund("588000").provider == "sse" and fund("588000").name == "科创50ETF"
        assert fund("510000").name == "沪ETF0"  # stored names are kept

    def test_a_ban_seen_on_the_list_starts_the_cooldown_and_the_exchanges_carry_on(
        self, fake_eastmoney, exchanges
    ):
        fake_eastmoney.fail("403", times=None, path="clist")

        run = sync_etf_lists()

        assert SourceCooldown.objects.filter(source="eastmoney").exists()
        assert run.status == SyncStatus.PARTIAL
        assert StockInfo.objects.etfs().count() == 7  # every fund the exchanges list
        assert not messages(run, WARNING) or not any(
            m.startswith("on ") for m in messages(run, WARNING)
        )


class TestBadRows:
    def test_each_bad_row_is_rejected_alone_and_the_rest_is_stored(
        self, start_fake_eastmoney, settings
    ):
        server = start_fake_eastmoney(6)
        server.add(FakeFund("５１００９９", 1, "全角代码ETF"))
        server.add(FakeFund("510098", 1, "长" * 150))
        server.add(FakeFund("51009", 1, "短代码ETF"))
        server.duplicated.add("510001")

        run = sync_etf_lists()

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert listed() == {"510000", "510001", "510002", "159000", "159001", "159002"}
        rejected = messages(run, REJECTED)
        assert len(rejected) == run.rows_rejected == 4
        assert any("'５１００９９' is not six ASCII digits" in m for m in rejected)
        assert any("'51009' is not six ASCII digits" in m for m in rejected)
        assert any("510098" in m and "150 characters" in m for m in rejected)
        assert any("510001" in m and "twice in one answer" in m for m in rejected)
        assert fund("510001").name == "沪ETF1"  # the first of the two rows

    def test_a_rejected_row_is_rejected_even_when_the_exchange_adds_the_fund(
        self, fake_eastmoney, exchanges
    ):
        fake_eastmoney.funds[(1, "510000")].name = "长" * 150

        run = sync_etf_lists()

        assert any("510000" in m for m in messages(run, REJECTED))
        assert fund("510000").name == "沪深300ETF全称"  # from the SSE list
        assert fund("510000").provider == "sse"
        assert "510000" not in " ".join(messages(run, WARNING))


def listed() -> set[str]:
    return set(StockInfo.objects.etfs().values_list("code", flat=True))


def side_by_side(**exchanges) -> dict:
    """Start one list sync per entry in its own thread at the same moment; their results."""
    results, start = {}, threading.Barrier(len(exchanges))

    def run(name, chosen):
        try:
            start.wait()
            results[name] = sync_etf_lists(exchanges=chosen)
        except Exception as exc:  # the collision this is about
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in exchanges.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_list_syncs_at_once_on_an_empty_table_both_succeed(start_fake_eastmoney):
    """`sync_etf_lists --exchange XSHG` beside `sync_etf_lists`, a few rounds."""
    start_fake_eastmoney(300)
    for _ in range(4):
        StockInfo.objects.all().delete()

        results = side_by_side(XSHG=["XSHG"], both=None)

        assert {name: getattr(r, "status", repr(r)) for name, r in results.items()} == {
            "XSHG": SyncStatus.SUCCEEDED,
            "both": SyncStatus.SUCCEEDED,
        }
        assert StockInfo.objects.count() == 300
        created = results["XSHG"].rows_created + results["both"].rows_created
        assert created == 300  # each fund counted once, by whichever run inserted it


class TestDoors:
    def test_the_command_stores_every_fund_with_its_profile(self, start_fake_eastmoney, exchanges):
        """The issue's "done when": three wire formats, a full-width code, a 150-character name."""
        server = start_fake_eastmoney(6)
        server.add(FakeFund("５１００９９", 1, "全角代码ETF"))
        server.funds[(0, "159002")].name = "长" * 150
        out = io.StringIO()

        call_command("sync_etf_lists", "--no-progress", stdout=out, stderr=io.StringIO())

        run = SyncRun.objects.get()
        assert run.rows_rejected == 2
        stored = StockInfo.objects.etfs()
        assert stored.count() == 8  # Eastmoney's 5 good rows, 159002 and SSE's extra two
        for security in stored.exclude(code__in=["510002", "589100"]):
            assert security.list_date and security.category, security
            assert security.tracking_index_name and security.fund_manager, security
        assert fund("159002").name == "深三"  # rejected on Eastmoney, added from SZSE's list
        assert "563330, 589100" in " ".join(messages(run, WARNING))

    def test_the_admin_shows_profiles_filters_by_category_and_the_differences(
        self, fake_eastmoney, exchanges, admin_client
    ):
        run = sync_etf_lists()

        front = admin_client.get("/admin/").content.decode()
        bonds = admin_client.get("/admin/etfs/stockinfo/", {"category": "Bond ETF"})
        page = admin_client.get(f"/admin/etfs/stockinfo/{fund('510001').pk}/change/")

        assert "on the SSE list, not on Eastmoney&#x27;s: 563330, 589100" in front
        assert f"/admin/etfs/syncrun/{run.pk}/change/" in front
        assert [row.code for row in bonds.context["cl"].result_list] == ["159000"]
        assert "Cross-border ETF" in page.content.decode()
        assert "华泰柏瑞基金管理有限公司" in page.content.decode()


def test_an_exchange_that_refuses_us_pauses_only_itself(fake_eastmoney, exchanges):
    exchanges.fail("XSHG", "ban")
    first = sync_etf_lists()
    exchanges.recover()
    exchanges.requests.clear()

    second = sync_etf_lists()

    assert SourceCooldown.objects.filter(source="sse").exists()
    assert not SourceCooldown.objects.filter(source="eastmoney").exists()
    assert first.status == second.status == SyncStatus.SUCCEEDED
    assert "sse list not asked: sse is refusing requests" in second.error_summary
    assert {request.path for request in exchanges.requests} == {"/api/report/ShowReport/data"}
    assert second.provider == "eastmoney,szse"
