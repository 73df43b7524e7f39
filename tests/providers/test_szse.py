"""The SZSE's fund list (etfs/providers/szse.py): the parsers over the recorded shapes, the
source over the fake."""

import datetime as dt
import json
from pathlib import Path

import pytest

from etfs.providers.base import XSHE, ProviderDataError, ProviderUnavailable
from etfs.providers.http import HttpConfig
from etfs.providers.szse import FUND_LIST_COLUMNS, SzseFundList, find_tab, parse_szse_fund
from tests.fakes.exchanges import ExchangeFund

# ../shared/payloads beside the checkout (CI lays shared/ beside its clone, as here).
PAYLOADS = Path(__file__).resolve().parents[3] / "shared" / "payloads"
RECORDED_SZSE_LOF = PAYLOADS / "szse_showreport_json_catalog1945_LOF_162411_2020-09-11.json"


def szse(exchanges) -> SzseFundList:
    return SzseFundList.from_settings(
        type("S", (), {"ETFSYNC_SZSE_URL": exchanges.url}),
        HttpConfig(read_timeout=2.0, retries=1, backoff=0.01, rate_limit=0),
    )


class TestSzseParsing:
    def test_the_recorded_answer_finds_the_list_tab_by_its_columns(self):
        payload = json.loads(RECORDED_SZSE_LOF.read_text())
        payload.reverse()  # the list tab is no longer first: found all the same

        rows, keys, pages = find_tab(payload, FUND_LIST_COLUMNS, "1945_LOF")
        fund = parse_szse_fund(rows[0], keys)

        assert pages == 1
        assert (fund.code, fund.exchange, fund.name) == ("162411", XSHE, "华宝油气")
        assert fund.tracking_index_name == "SPSIOPTR"
        assert fund.fund_manager == "华宝基金管理有限公司"
        assert fund.tracking_index_code == "" and fund.list_date is None

    def test_no_tab_with_the_columns_is_a_data_error(self):
        payload = json.loads(RECORDED_SZSE_LOF.read_text())[1:]  # only the NAV tab

        with pytest.raises(ProviderDataError, match="no tab has the columns sys_key"):
            find_tab(payload, FUND_LIST_COLUMNS, "1945")

    def test_html_entities_and_tags_are_stripped(self):
        keys = {"code": "c", "name": "n", "index": "i", "manager": "m"}
        row = {"c": "<u>159915</u>", "n": "<a x='1'>A&amp;B</a> <a></a>", "i": " X ", "m": "M"}

        fund = parse_szse_fund(row, keys)

        assert (fund.code, fund.name, fund.tracking_index_name) == ("159915", "A&B", "X")


class TestSzseSource:
    def test_joins_the_etf_list_with_the_fund_types_and_listing_dates(self, exchanges):
        fetched = szse(exchanges).fund_profiles()

        assert fetched.error is None and not fetched.problems
        by_code = {fund.code: fund for fund in fetched.profiles}
        assert set(by_code) == {"159915", "159937"}
        gold = by_code["159937"]
        assert gold.name == "博时黄金ETF"
        assert gold.list_date == dt.date(2014, 8, 13)
        assert gold.category == "Commodity ETF"
        assert by_code["159915"].category == "Equity ETF"
        assert gold.tracking_index_name == "黄金现货实盘合约"
        assert gold.fund_manager == "博时基金管理有限公司"
        catalogs = [request.args["CATALOGID"] for request in exchanges.requests]
        assert catalogs == ["1945", "1105"]
        assert exchanges.requests[1].args["selectJjlb"] == "ETF"
        assert {request.args["tab1PAGESIZE"] for request in exchanges.requests} == {"100"}

    def test_pages_and_finds_the_tab_wherever_it_is(self, exchanges):
        exchanges.list_tab_first = True
        exchanges.funds += [ExchangeFund(f"1593{n:02d}", XSHE, f"深{n}") for n in range(3)]

        fetched = szse(exchanges).fund_profiles()

        assert len(fetched.profiles) == 5
        assert fetched.pages == 3

    def test_down_is_unavailable(self, exchanges):
        exchanges.fail(XSHE, "down")

        fetched = szse(exchanges).fund_profiles()

        assert isinstance(fetched.error, ProviderUnavailable)


class TestPaging:
    """Issue 23 item 9: the client paged tab1 and read page 1 of a tab2 list again."""

    def test_a_list_in_tab2_is_paged_by_tab2pageno(self, exchanges):
        exchanges.szse_list_tabkey = "tab2"
        exchanges.funds += [ExchangeFund(f"1593{n:02d}", XSHE, f"深{n}") for n in range(3)]

        fetched = szse(exchanges).fund_profiles()

        assert fetched.error is None and fetched.problems == []
        assert sorted(fund.code for fund in fetched.profiles) == sorted(
            fund.code for fund in exchanges.of(XSHE)
        )
        asked = [dict(r.args) for r in exchanges.requests if r.args["CATALOGID"] == "1945"]
        # The first request cannot know the tab; every later one pages the list's own tab.
        assert [args.get("tab2PAGENO") for args in asked[1:]] == ["2", "3"]
        assert all("tab1PAGENO" not in args for args in asked[1:])

    def test_a_list_that_ignores_the_page_is_a_paging_fault_after_two_requests(self, exchanges):
        exchanges.ignores_paging = {XSHE}
        exchanges.funds += [ExchangeFund(f"{n:06d}", XSHE, f"F{n}") for n in range(150, 155)]

        fetched = szse(exchanges).fund_profiles()

        assert isinstance(fetched.error, ProviderDataError)
        assert "SZSE report 1945: page 2 repeats page 1: a paging fault" in str(fetched.error)
        assert len(exchanges.requests) == 2  # not the 500 pages it claims
        assert len({profile.code for profile in fetched.profiles}) == len(fetched.profiles)
