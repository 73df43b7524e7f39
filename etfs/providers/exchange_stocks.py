"""The exchanges' own stock lists: listed A shares with listing dates, and delisted ones.

Wire formats: shared/providers.md section 8 (the envelopes are those of section 7).
- SSE ``sseQuery/commonQuery.do?sqlId=COMMON_SSE_CP_GPJCTPZ_GPLB_GP_L``: ``STOCK_TYPE`` 1
  (main board A) and 8 (STAR) with ``COMPANY_STATUS=2,4,5,7,8``; ``COMPANY_STATUS=3`` lists
  the delisted companies, B shares among them (skipped: no A-share code).
- SZSE ShowReport ``CATALOGID=1110`` tab1 (A shares) and ``CATALOGID=1793_ssgs`` tab2
  (terminated listings), 20 rows a page, each tab paged by its own key.
``parse_*`` functions are pure; the classes do the paging.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import (
    XSHE,
    XSHG,
    ListProgress,
    ProviderDataError,
    ProviderError,
    RowProblem,
    is_security_code,
)
from .exchange_lists import parse_listing_date, strip_cell
from .paging import PageGuard
from .sse import SseQueryHost, decode_sse_answer, parse_sse_page
from .stocks import ExchangeStockFetch, ExchangeStockSource, StockProfile, board_of
from .szse import SZSE_PATH, SzseReportHost, find_tab

# About 2,300 SSE and 2,900 SZSE stocks: far more pages than either list has, so that a
# source that keeps sending "one more page" is stopped.
MAX_PAGES = 400
PLACEHOLDERS = {"", "-", "--"}

# --- SSE --------------------------------------------------------------------------------------

SSE_STOCK_PATH = "/sseQuery/commonQuery.do"
SSE_STOCK_SQL = "COMMON_SSE_CP_GPJCTPZ_GPLB_GP_L"
SSE_STOCK_PAGE_SIZE = 100
SSE_LISTED = "2,4,5,7,8"
SSE_DELISTED = "3"
# 1 = main board A shares, 8 = STAR; 2 (B shares) is out of scope.
SSE_STOCK_TYPES = ("1", "8")


def parse_sse_stock(row: object) -> StockProfile | None:
    """One row of the SSE's list; None for a row without an A-share code (a B share)."""
    if not isinstance(row, dict):
        raise ProviderDataError(f"SSE stock list row is {type(row).__name__}, expected an object")
    code = strip_cell(row.get("A_STOCK_CODE"))
    if code in PLACEHOLDERS:
        return None  # a B share (its code is in B_STOCK_CODE): out of scope
    if not is_security_code(code):
        raise ProviderDataError(f"SSE stock list row: A_STOCK_CODE {code!r} is not six digits")
    if not board_of(code, XSHG):
        return None  # not an A-share code of Shanghai (900xxx B shares)
    where = f"SSE stock list row {code}"
    name = strip_cell(row.get("SEC_NAME_CN")) or strip_cell(row.get("COMPANY_ABBR"))
    if not name:
        raise ProviderDataError(f"{where}: no name (SEC_NAME_CN, COMPANY_ABBR)")
    delisted = strip_cell(row.get("DELIST_DATE"))
    return StockProfile(
        code=code,
        exchange=XSHG,
        name=name,
        list_date=parse_listing_date(row.get("LIST_DATE"), where),
        delist_date=None if delisted in PLACEHOLDERS else parse_listing_date(delisted, where),
    )


class SseStockList(SseQueryHost, ExchangeStockSource):
    """The SSE's A-share lists: main board and STAR listed, and the delisted companies."""

    def fetch_page(self, page: int, status: str, stock_type: str) -> dict:
        params = {
            "jsonCallBack": "jsonpCallback1",
            "sqlId": SSE_STOCK_SQL,
            "STOCK_TYPE": stock_type,
            "COMPANY_STATUS": status,
            "type": "inParams",
            "isPagination": "true",
            "pageHelp.pageSize": SSE_STOCK_PAGE_SIZE,
            "pageHelp.pageNo": page,
            "pageHelp.beginPage": page,
            "pageHelp.cacheSize": 1,
            "pageHelp.endPage": page,
        }
        return decode_sse_answer(self.http.get_text(self.query_url + SSE_STOCK_PATH, params))

    def read(self, status: str, stock_type: str, found: ExchangeStockFetch, on_page) -> list:
        profiles, page, page_count = [], 1, 1
        # A repeated page is a paging fault; a page with nothing new ends the paging.
        guard = PageGuard(f"SSE stock list (status {status}, type {stock_type})")
        while page <= min(page_count, MAX_PAGES):
            page_answer = self.fetch_page(page, status, stock_type)
            rows, page_count = parse_sse_page(page_answer, "SSE stock list")
            found.pages += 1
            rows = guard.fresh(rows)
            profiles.extend(_parsed(rows, parse_sse_stock, "A_STOCK_CODE", found.problems))
            if on_page:
                on_page(found.pages, len(profiles), 0)
            if guard.exhausted:
                break
            page += 1
        return profiles

    def stock_lists(self, on_page: ListProgress | None = None) -> ExchangeStockFetch:
        found = ExchangeStockFetch(exchange=self.exchange)
        try:
            for stock_type in SSE_STOCK_TYPES:
                found.listed.extend(self.read(SSE_LISTED, stock_type, found, on_page))
        except ProviderError as exc:
            found.error = exc
            return found
        try:
            delisted = self.read(SSE_DELISTED, ",".join(SSE_STOCK_TYPES), found, on_page)
        except ProviderError as exc:
            found.delisted_error = exc
        else:
            found.delisted = [profile for profile in delisted if profile.delist_date]
        return found


# --- SZSE -------------------------------------------------------------------------------------

SZSE_STOCK_REFERER = "https://www.szse.cn/market/product/stock/list/index.html"
LISTED_COLUMNS = {
    "code": ("agdm", "A股代码"),
    "name": ("agjc", "A股简称"),
    "list_date": ("agssrq", "A股上市日期"),
}
TERMINATED_COLUMNS = {
    "code": ("zqdm", "证券代码"),
    "name": ("zqjc", "证券简称"),
    "list_date": ("ssrq", "上市日期"),
    "delist_date": ("zzrq", "终止上市日期", "终止日期"),
}


def parse_szse_stock(row: object, keys: dict[str, str]) -> StockProfile | None:
    """One row of catalog 1110 tab1 or 1793_ssgs tab2; None for a code that is no A share."""
    if not isinstance(row, dict):
        raise ProviderDataError(f"SZSE stock list row is {type(row).__name__}, expected an object")
    code = strip_cell(row.get(keys["code"]))
    if not is_security_code(code):
        raise ProviderDataError(f"SZSE stock list row: code {code!r} is not six ASCII digits")
    if not board_of(code, XSHE):
        return None  # 200xxx B shares and other codes
    where = f"SZSE stock list row {code}"
    name = strip_cell(row.get(keys["name"]))
    if not name:
        raise ProviderDataError(f"{where}: no name")
    delisted = keys.get("delist_date")
    return StockProfile(
        code=code,
        exchange=XSHE,
        name=name,
        list_date=parse_listing_date(strip_cell(row.get(keys["list_date"])), where),
        delist_date=parse_listing_date(strip_cell(row.get(delisted)), where) if delisted else None,
    )


class SzseStockList(SzseReportHost, ExchangeStockSource):
    """The SZSE's A-share list (catalog 1110, tab1) and its terminated listings (1793_ssgs,
    tab2)."""

    referer = SZSE_STOCK_REFERER

    def fetch_report(self, catalog: str, tab: str, page: int) -> object:
        # The tab is paged by its own key: tab2PAGENO for tab2 (tab1PAGENO would leave it on
        # its first page, which then comes back on every request).
        params = {"SHOWTYPE": "JSON", "CATALOGID": catalog, "TABKEY": tab, f"{tab}PAGENO": page}
        return self.http.get_json(self.url + SZSE_PATH, params)

    def read(self, catalog: str, tab: str, columns, found: ExchangeStockFetch, on_page) -> list:
        profiles, page, page_count, previous = [], 1, 1, None
        while page <= min(page_count, MAX_PAGES):
            where = f"SZSE report {catalog} {tab} page {page}"
            rows, keys, page_count = find_tab(self.fetch_report(catalog, tab, page), columns, where)
            found.pages += 1
            if rows and rows == previous:
                raise ProviderDataError(
                    f"{where} repeats page {page - 1}: a paging fault, not a list of duplicates"
                )
            parse = lambda row, keys=keys: parse_szse_stock(row, keys)  # noqa: E731
            profiles.extend(_parsed(rows, parse, keys["code"], found.problems))
            if on_page:
                on_page(found.pages, len(profiles), 0)
            if not rows:
                break
            previous, page = rows, page + 1
        return profiles

    def stock_lists(self, on_page: ListProgress | None = None) -> ExchangeStockFetch:
        found = ExchangeStockFetch(exchange=self.exchange)
        try:
            found.listed = self.read("1110", "tab1", LISTED_COLUMNS, found, on_page)
        except ProviderError as exc:
            found.error = exc
            return found
        try:
            found.delisted = self.read("1793_ssgs", "tab2", TERMINATED_COLUMNS, found, on_page)
        except ProviderError as exc:
            found.delisted_error = exc
        return found


def _parsed(rows: list, parse: Callable, code_key: str, problems: list[RowProblem]) -> list:
    """Parse rows; a bad row is a problem of its own, the rest are kept (None rows skipped)."""
    profiles = []
    for row in rows:
        try:
            profile = parse(row)
        except ProviderDataError as exc:
            code = strip_cell(row.get(code_key)) if isinstance(row, dict) else ""
            problems.append(RowProblem(str(exc), code=code, row=repr(row)[:300]))
            continue
        if profile is not None:
            profiles.append(profile)
    return profiles
