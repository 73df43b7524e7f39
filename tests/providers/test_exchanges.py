"""The exchanges' fund lists: the parsers over the recorded shapes, the sources over a fake."""

import datetime as dt
import json
from pathlib import Path

import pytest

from etfs.providers.base import XSHE, XSHG, ProviderBlocked, ProviderDataError, ProviderUnavailable
from etfs.providers.exchange_lists import parse_listing_date
from etfs.providers.http import HttpClient, HttpConfig
from etfs.providers.sse import SseFundList, decode_sse_answer, parse_sse_fund, parse_sse_page
from etfs.providers.szse import FUND_LIST_COLUMNS, SzseFundList, find_tab, parse_szse_fund
from tests.fakes.exchanges import ExchangeFund, FakeExchanges

PAYLOADS = Path("/work/shared/payloads")
RECORDED_SZSE_LOF = PAYLOADS / "szse_showreport_json_catalog1945_LOF_162411_2020-09-11.json"
# The recorded SSE row of providers.md section 7 (the capture's comments removed).
SSE_ROW = {
    "listingDate": "20120528",
    "LAW_FIRM": "",
    "CONTACT_MOBILE": "",
    "subClass": "03",
    "fundManager": "柳军",
    "companyName": "华泰柏瑞基金管理有限公司",
    "INDEX_NAME": "沪深300指数",
    "fundAbbr": "300ETF",
    "fundType": "00",
    "fundCode": "510300",
    "INDEX_CODE": "000300",
    "secNameFull": "沪深300ETF",
    "TRUSTEE_NAME": "中国工商银行股份有限公司",
}


class TestSseParsing:
    def test_the_recorded_row(self):
        fund = parse_sse_fund(SSE_ROW)

        assert fund.code == "510300" and fund.exchange == XSHG
        assert fund.name == "沪深300ETF"
        assert fund.list_date == dt.date(2012, 5, 28)
        assert fund.category == "Equity ETF (cross-market)"
        assert (fund.tracking_index_code, fund.tracking_index_name) == ("000300", "沪深300指数")
        assert fund.fund_manager == "华泰柏瑞基金管理有限公司"

    @pytest.mark.parametrize("text", ["20120528", "2012-05-28", " 2012-05-28 "])
    def test_both_date_formats(self, text):
        assert parse_listing_date(text, "x") == dt.date(2012, 5, 28)

    def test_an_empty_date_is_none_and_a_bad_one_says_where(self):
        assert parse_listing_date("", "x") is None
        with pytest.raises(ProviderDataError, match="row 510300: listing date '2012/05/28'"):
            parse_sse_fund({**SSE_ROW, "listingDate": "2012/05/28"})

    def test_an_unknown_sub_class_keeps_its_code_in_the_words(self):
        assert parse_sse_fund({**SSE_ROW, "subClass": "77"}).category == "ETF (SSE sub-class 77)"

    @pytest.mark.parametrize("code", ["５１０３００", "51030", 51030, None])
    def test_a_code_that_is_not_six_ascii_digits_is_refused(self, code):
        with pytest.raises(ProviderDataError, match="six ASCII digits"):
            parse_sse_fund({**SSE_ROW, "fundCode": code})

    @pytest.mark.parametrize("wrapper", ["jsonpCallback40200602({})", "{}", "cb({});\n"])
    def test_jsonp_and_json_decode_alike(self, wrapper):
        body = json.dumps({"result": [SSE_ROW], "pageHelp": {"pageCount": 9}})
        rows, page_count = parse_sse_page(decode_sse_answer(wrapper.replace("{}", body)))

        assert rows == [SSE_ROW] and page_count == 9

    def test_rows_under_page_help_only(self):
        rows, page_count = parse_sse_page({"pageHelp": {"data": [SSE_ROW], "pageCount": 1}})
        assert rows == [SSE_ROW] and page_count == 1

    def test_an_answer_without_rows_is_a_data_error(self):
        with pytest.raises(ProviderDataError, match="neither 'result' nor 'pageHelp.data'"):
            parse_sse_page({"actionErrors": ["系统繁忙"]})
        with pytest.raises(ProviderDataError, match="not JSON or JSONP"):
            decode_sse_answer("jsonpCallback1({broken")


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


# --- the sources against the fake server ------------------------------------------------------


@pytest.fixture
def server():
    server = FakeExchanges()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http():
    client = HttpClient(HttpConfig(read_timeout=2.0, retries=1, backoff=0.01, rate_limit=0))
    yield client
    client.close()


def sse(server, **config) -> SseFundList:
    return SseFundList.from_settings(
        type("S", (), {"ETFSYNC_SSE_QUERY_URL": server.url}),
        HttpConfig(read_timeout=2.0, retries=1, backoff=0.01, rate_limit=0, **config),
    )


def szse(server) -> SzseFundList:
    return SzseFundList.from_settings(
        type("S", (), {"ETFSYNC_SZSE_URL": server.url}),
        HttpConfig(read_timeout=2.0, retries=1, backoff=0.01, rate_limit=0),
    )


class TestSseSource:
    def test_pages_through_the_jsonp_list(self, server):
        server.funds += [ExchangeFund(f"5630{n:02d}", XSHG, f"ETF{n}") for n in range(3)]
        server.sse_date_format = "%Y-%m-%d"

        fetched = sse(server).fund_profiles()

        assert fetched.error is None and not fetched.problems
        assert [fund.code for fund in fetched.profiles] == [
            "510300",
            "513500",
            "563000",
            "563001",
            "563002",
        ]
        assert fetched.pages == 3
        first = server.requests[0]
        assert first.args["jsonCallBack"] and first.args["sqlId"] == "FUND_LIST"
        assert first.headers["Referer"] == "https://www.sse.com.cn/"
        spx = fetched.profiles[1]
        assert (spx.list_date, spx.category, spx.tracking_index_code) == (
            dt.date(2014, 1, 15),
            "Cross-border ETF",
            "SPX",
        )

    def test_a_bad_row_is_a_problem_of_its_own(self, server):
        server.funds.append(ExchangeFund("５６３３３０", XSHG, "全角"))

        fetched = sse(server).fund_profiles()

        assert {fund.code for fund in fetched.profiles} == {"510300", "513500"}
        [problem] = fetched.problems
        assert problem.fatal and "six ASCII digits" in problem.message

    def test_a_refusal_is_a_ban_with_what_came_before_kept(self, server):
        server.fail(XSHG, "ban")

        fetched = sse(server).fund_profiles()

        assert isinstance(fetched.error, ProviderBlocked)
        assert fetched.profiles == []


class TestSzseSource:
    def test_joins_the_etf_list_with_the_fund_types_and_listing_dates(self, server):
        fetched = szse(server).fund_profiles()

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
        catalogs = [request.args["CATALOGID"] for request in server.requests]
        assert catalogs == ["1945", "1105"]
        assert server.requests[1].args["selectJjlb"] == "ETF"
        assert {request.args["tab1PAGESIZE"] for request in server.requests} == {"100"}

    def test_pages_and_finds_the_tab_wherever_it_is(self, server):
        server.list_tab_first = True
        server.funds += [ExchangeFund(f"1593{n:02d}", XSHE, f"深{n}") for n in range(3)]

        fetched = szse(server).fund_profiles()

        assert len(fetched.profiles) == 5
        assert fetched.pages == 3

    def test_down_is_unavailable(self, server):
        server.fail(XSHE, "down")

        fetched = szse(server).fund_profiles()

        assert isinstance(fetched.error, ProviderUnavailable)


# --- paging: the tab's own key, and sources that ignore the page (issue 23 item 9) ----------


class TestPaging:
    def test_a_list_in_tab2_is_paged_by_tab2pageno(self, server):
        server.szse_list_tabkey = "tab2"
        server.funds += [ExchangeFund(f"1593{n:02d}", XSHE, f"深{n}") for n in range(3)]

        fetched = szse(server).fund_profiles()

        assert fetched.error is None and fetched.problems == []
        assert sorted(fund.code for fund in fetched.profiles) == sorted(
            fund.code for fund in server.of(XSHE)
        )
        asked = [dict(r.args) for r in server.requests if r.args["CATALOGID"] == "1945"]
        # The first request cannot know the tab; every later one pages the list's own tab.
        assert [args.get("tab2PAGENO") for args in asked[1:]] == ["2", "3"]
        assert all("tab1PAGENO" not in args for args in asked[1:])

    @pytest.mark.parametrize("exchange", [XSHG, XSHE])
    def test_a_list_that_ignores_the_page_is_a_paging_fault_after_two_requests(
        self, server, exchange
    ):
        server.ignores_paging = {exchange}
        server.funds += [ExchangeFund(f"{n:06d}", exchange, f"F{n}") for n in range(150, 155)]
        source = sse(server) if exchange == XSHG else szse(server)

        fetched = source.fund_profiles()

        assert isinstance(fetched.error, ProviderDataError)
        assert "page 2 repeats page 1: a paging fault" in str(fetched.error)
        assert len(server.requests) == 2  # not the 500 pages it claims
        assert len({profile.code for profile in fetched.profiles}) == len(fetched.profiles)
