"""The SSE's own ETF list (``sqlId=FUND_LIST``): listing date, category, tracking index and
manager of each Shanghai fund, and a second opinion on which funds are listed.

Wire format: shared/providers.md section 7. No listing-status field: a fund missing here is a
hint, never proof. ``parse_*`` functions are pure; ``SseFundList`` does the paging.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .base import (
    XSHG,
    FundProfile,
    FundProfileSource,
    ListProgress,
    ProfileFetch,
    ProviderDataError,
    ProviderError,
    is_security_code,
    required_option,
)
from .exchange_lists import (
    MAX_PAGES,
    collect_profiles,
    int_cell,
    parse_listing_date,
    text_cell,
)
from .http import HttpClient, HttpConfig, json_int
from .paging import PageGuard

SSE_PATH = "/commonSoaQuery.do"
SSE_PAGE_SIZE = 100
SSE_REFERER = "https://www.sse.com.cn/"
# SSE's fund sub-classes (subClass of FUND_LIST, fundType 00 = ETF) in words. The codes are not
# documented; this reading comes from public clients (e.g. jackluson/anchor_stock's schema).
SSE_SUBCLASSES = {
    "01": "Equity ETF (Shanghai market)",
    "02": "Bond ETF",
    "03": "Equity ETF (cross-market)",
    "04": "Cross-border ETF",
    "06": "Gold ETF",
    "08": "Equity ETF (cross-market)",
    "09": "Equity ETF (STAR Market)",
    "31": "Equity ETF (STAR Market, cross-market)",
}
JSONP = re.compile(r"^\s*[\w$.]+\s*\((.*)\)\s*;?\s*$", re.DOTALL)


def strip_jsonp(text: str) -> str:
    """``jsonpCallback123({...})`` -> ``{...}``; plain JSON passes through."""
    match = JSONP.match(text)
    return match.group(1) if match else text


def decode_sse_answer(text: str) -> dict:
    try:
        payload = json.loads(strip_jsonp(text), parse_float=Decimal, parse_int=json_int)
    except json.JSONDecodeError as exc:
        raise ProviderDataError(
            f"SSE fund list: not JSON or JSONP ({exc.msg} at character {exc.pos})",
            body=text[:500],
        ) from None
    if not isinstance(payload, dict):
        raise ProviderDataError(f"SSE fund list: answer is {type(payload).__name__}, not an object")
    return payload


def parse_sse_page(payload: dict, what: str = "SSE fund list") -> tuple[list, int]:
    """The rows of one page of the query host and the page count it reports: the fund list's
    and the stock lists' pages alike (``what`` names the list in an error)."""
    page_help = payload.get("pageHelp")
    rows = payload.get("result")
    if rows is None and isinstance(page_help, dict):
        rows = page_help.get("data")
    if not isinstance(rows, list):
        raise ProviderDataError(f"{what}: neither 'result' nor 'pageHelp.data' is a list")
    page_count = 1
    if isinstance(page_help, dict):
        page_count = int_cell(page_help.get("pageCount"), default=1)
    return rows, page_count


def parse_sse_fund(row: object) -> FundProfile:
    if not isinstance(row, dict):
        raise ProviderDataError(f"SSE fund list row is {type(row).__name__}, expected an object")
    code = text_cell(row.get("fundCode"))
    if not is_security_code(code):
        raise ProviderDataError(f"SSE fund list row: fundCode {code!r} is not six ASCII digits")
    name = text_cell(row.get("secNameFull")) or text_cell(row.get("fundAbbr"))
    if not name:
        raise ProviderDataError(f"SSE fund list row {code}: no name (secNameFull, fundAbbr)")
    sub_class = text_cell(row.get("subClass"))
    return FundProfile(
        code=code,
        exchange=XSHG,
        name=name,
        list_date=parse_listing_date(row.get("listingDate"), f"SSE fund list row {code}"),
        category=SSE_SUBCLASSES.get(
            sub_class, f"ETF (SSE sub-class {sub_class})" * bool(sub_class)
        ),
        tracking_index_code=text_cell(row.get("INDEX_CODE")),
        tracking_index_name=text_cell(row.get("INDEX_NAME")),
        fund_manager=text_cell(row.get("companyName")),
    )


class SseQueryHost:
    """A source read from the SSE's query host: its construction, shared by the fund and the
    stock lists."""

    name = "sse"
    exchange = XSHG

    def __init__(self, http: HttpClient, query_url: str):
        self.http = http
        self.query_url = query_url.rstrip("/")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], http: HttpConfig):
        """OPTIONS: ``QUERY_URL`` (the query host)."""
        # The query host answers only requests that come from its own site.
        return cls(
            HttpClient(dataclasses.replace(http, referer=SSE_REFERER)),
            required_option(cls, options, "QUERY_URL"),
        )

    @classmethod
    def short_form_options(cls, settings: Any) -> dict[str, Any]:
        return {"QUERY_URL": settings.ETFSYNC_SSE_QUERY_URL}


class SseFundList(SseQueryHost, FundProfileSource):
    """The SSE's ETF list (``sqlId=FUND_LIST``, ``fundType=00``), paged 100 at a time."""

    def fetch_page(self, page: int) -> dict:
        params = {
            "jsonCallBack": "jsonpCallback1",
            "isPagination": "true",
            "pageHelp.pageSize": SSE_PAGE_SIZE,
            "pageHelp.pageNo": page,
            "pageHelp.beginPage": page,
            "pageHelp.cacheSize": 1,
            "pageHelp.endPage": page,
            "sqlId": "FUND_LIST",
            "fundType": "00",
        }
        return decode_sse_answer(self.http.get_text(self.query_url + SSE_PATH, params))

    def fund_profiles(self, on_page: ListProgress | None = None) -> ProfileFetch:
        """Every page up to the count the source reports; a page that repeats the previous one
        is a paging fault (the error, with what came before kept), and a page with nothing new
        ends the paging."""
        result = ProfileFetch(exchange=self.exchange)
        guard = PageGuard("SSE fund list")
        page, page_count = 1, 1
        while page <= min(page_count, MAX_PAGES):
            try:
                rows, page_count = parse_sse_page(self.fetch_page(page))
                rows = guard.fresh(rows)
            except ProviderError as exc:
                result.error = exc
                break
            result.pages = page
            collect_profiles(result, rows, parse_sse_fund, "fundCode")
            if on_page:
                on_page(page, len(result.profiles), 0)
            if guard.exhausted:
                break
            page += 1
        return result
