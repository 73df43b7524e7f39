"""The SSE's fund list (etfs/providers/sse.py): the parsers over the recorded shapes, the source
over the fake."""

import datetime as dt
import json

import pytest

from etfs.providers.base import XSHG, ProviderBlocked, ProviderDataError
from etfs.providers.exchange_lists import parse_listing_date
from etfs.providers.http import HttpConfig
from etfs.providers.sse import SseFundList, decode_sse_answer, parse_sse_fund, parse_sse_page
from tests.fakes.exchanges import ExchangeFund

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


def sse(exchanges, **config) -> SseFundList:
    return SseFundList.from_settings(
        type("S", (), {"ETFSYNC_SSE_QUERY_URL": exchanges.url}),
        HttpConfig(read_timeout=2.0, retries=1, backoff=0.01, rate_limit=0, **config),
    )


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


class TestSseSource:
    def test_pages_through_the_jsonp_list(self, exchanges):
        exchanges.funds += [ExchangeFund(f"5630{n:02d}", XSHG, f"ETF{n}") for n in range(3)]
        exchanges.sse_date_format = "%Y-%m-%d"

        fetched = sse(exchanges).fund_profiles()

        assert fetched.error is None and not fetched.problems
        assert [fund.code for fund in fetched.profiles] == [
            "510300",
            "513500",
            "563000",
            "563001",
            "563002",
        ]
        assert fetched.pages == 3
        first = exchanges.requests[0]
        assert first.args["jsonCallBack"] and first.args["sqlId"] == "FUND_LIST"
        assert first.headers["Referer"] == "https://www.sse.com.cn/"
        spx = fetched.profiles[1]
        assert (spx.list_date, spx.category, spx.tracking_index_code) == (
            dt.date(2014, 1, 15),
            "Cross-border ETF",
            "SPX",
        )

    def test_a_bad_row_is_a_problem_of_its_own(self, exchanges):
        exchanges.funds.append(ExchangeFund("５６３３３０", XSHG, "全角"))

        fetched = sse(exchanges).fund_profiles()

        assert {fund.code for fund in fetched.profiles} == {"510300", "513500"}
        [problem] = fetched.problems
        assert problem.fatal and "six ASCII digits" in problem.message

    def test_a_refusal_is_a_ban_with_what_came_before_kept(self, exchanges):
        exchanges.fail(XSHG, "ban")

        fetched = sse(exchanges).fund_profiles()

        assert isinstance(fetched.error, ProviderBlocked)
        assert fetched.profiles == []

    def test_a_list_that_ignores_the_page_is_a_paging_fault_after_two_requests(self, exchanges):
        """Issue 23 item 9: a page identical to the previous one is a paging fault, said, and
        a list that claims 500 pages of one page costs two requests."""
        exchanges.ignores_paging = {XSHG}
        exchanges.funds += [ExchangeFund(f"{n:06d}", XSHG, f"F{n}") for n in range(150, 155)]

        fetched = sse(exchanges).fund_profiles()

        assert isinstance(fetched.error, ProviderDataError)
        assert "SSE fund list: page 2 repeats page 1: a paging fault" in str(fetched.error)
        assert len(exchanges.requests) == 2  # not the 500 pages it claims
        assert len({profile.code for profile in fetched.profiles}) == len(fetched.profiles)


def test_a_number_too_long_for_python_is_that_rows_problem():
    """Python's int() refuses over 4,300 digits with a ValueError, not a JSON error: the one
    value must reach the row's parser, which refuses that row alone."""
    text = '{"result": [{"fundCode": 1' + "0" * 5000 + ', "secNameFull": "x"}, %s]}'
    payload = decode_sse_answer(text % json.dumps(SSE_ROW, ensure_ascii=False))

    rows, _ = parse_sse_page(payload)

    with pytest.raises(ProviderDataError, match="is not six ASCII digits"):
        parse_sse_fund(rows[0])
    assert parse_sse_fund(rows[1]).code == "510300"
