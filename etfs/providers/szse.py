"""The SZSE's own ETF list (ShowReport catalog 1945) joined with its fund list (catalog 1105)
for listing dates and fund types; a second opinion on which Shenzhen funds are listed.

Wire format: shared/providers.md section 7. The answer is a list of tabs; the fund list is
found by its columns, not by its position. ``parse_*`` functions are pure; ``SzseFundList``
does the paging.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from .base import (
    XSHE,
    FundProfile,
    FundProfileSource,
    ListProgress,
    ProfileFetch,
    ProviderDataError,
    ProviderError,
    RowProblem,
    is_security_code,
    required_option,
)
from .exchange_lists import (
    MAX_PAGES,
    collect_profiles,
    int_cell,
    parse_listing_date,
    strip_cell,
    text_cell,
)
from .http import HttpClient, HttpConfig
from .paging import PageGuard
from .records import source_row

SZSE_PATH = "/api/report/ShowReport/data"
DEFAULT_TAB = "tab1"
TABKEY = re.compile(r"tab[0-9]{1,2}")
SZSE_PAGE_SIZE = 100
SZSE_REFERER = "https://www.szse.cn/market/product/list/etfList/index.html"
# The columns are found by their labels (metadata.cols), with the keys seen so far as a
# fallback: the tabs and their keys move between catalog versions.
FUND_LIST_COLUMNS = {
    "code": ("sys_key", "证券代码", "基金代码"),
    "name": ("kzjcurl", "证券简称", "基金简称"),
    "index": ("nhzs", "拟合指数", "跟踪指数"),
    "manager": ("glrmc", "基金管理人", "管理人"),
}
FUND_TYPE_COLUMNS = {
    "code": ("sys_key", "基金代码", "证券代码"),
    "list_date": ("ssrq", "上市日期"),
    "fund_type": ("jjlb", "基金类别"),
    "investment_type": ("tzlb", "投资类别"),
}
# SZSE's investment types (投资类别) in words; the fund type (ETF, LOF) follows.
SZSE_INVESTMENT_TYPES = (
    ("跨境", "Cross-border"),
    ("QDII", "Cross-border"),
    ("股票", "Equity"),
    ("债券", "Bond"),
    ("货币", "Money-market"),
    ("黄金", "Gold"),
    ("商品", "Commodity"),
    ("混合", "Mixed"),
)


def find_tab(payload: object, columns: dict[str, tuple[str, ...]], where: str):
    """The tab whose columns hold every wanted field, as (rows, {field: key}, page count)."""
    return find_list_tab(payload, columns, where)[:3]


def find_list_tab(payload: object, columns: dict[str, tuple[str, ...]], where: str):
    """The tab whose columns hold every wanted field, as (rows, {field: key}, page count, its
    tabkey): the tab is paged by its own key (``tab2PAGENO`` when it is ``tab2``)."""
    if not isinstance(payload, list):
        raise ProviderDataError(f"{where}: answer is {type(payload).__name__}, expected tabs")
    for tab in payload:
        if not isinstance(tab, dict) or not isinstance(tab.get("metadata"), dict):
            continue
        metadata = tab["metadata"]
        keys = _column_keys(metadata.get("cols"), columns)
        if keys is not None:
            rows = tab.get("data") or []
            if not isinstance(rows, list):
                raise ProviderDataError(f"{where}: the list tab's 'data' is not a list")
            pages = int_cell(metadata.get("pagecount"), default=1)
            tabkey = text_cell(metadata.get("tabkey"))
            return rows, keys, pages, tabkey if TABKEY.fullmatch(tabkey) else DEFAULT_TAB
    wanted = ", ".join(names[0] for names in columns.values())
    raise ProviderDataError(f"{where}: no tab has the columns {wanted}")


def _column_keys(cols: object, columns: dict[str, tuple[str, ...]]) -> dict[str, str] | None:
    if not isinstance(cols, dict):
        return None
    labels = {key: strip_cell(label) for key, label in cols.items()}
    found = {}
    for field, names in columns.items():
        key = next(
            (key for key in labels if key in names or any(n in labels[key] for n in names)), None
        )
        if key is None:
            return None
        found[field] = key
    return found


def parse_szse_fund(row: object, keys: dict[str, str]) -> FundProfile:
    if not isinstance(row, dict):
        raise ProviderDataError(f"SZSE fund list row is {type(row).__name__}, expected an object")
    code = strip_cell(row.get(keys["code"]))
    if not is_security_code(code):
        raise ProviderDataError(f"SZSE fund list row: code {code!r} is not six ASCII digits")
    name = strip_cell(row.get(keys["name"]))
    if not name:
        raise ProviderDataError(f"SZSE fund list row {code}: no name")
    return FundProfile(
        code=code,
        exchange=XSHE,
        name=name,
        # 1945 gives the tracking index by name only.
        tracking_index_name=strip_cell(row.get(keys["index"])),
        fund_manager=strip_cell(row.get(keys["manager"])),
    )


def szse_category(fund_type: str, investment_type: str) -> str:
    fund_type = fund_type or "fund"
    if not investment_type:
        return fund_type
    for marker, words in SZSE_INVESTMENT_TYPES:
        if marker in investment_type:
            return f"{words} {fund_type}"
    return f"{fund_type} ({investment_type})"


class SzseReportHost:
    """A source read from the SZSE's report service: its construction, shared by the fund and
    the stock lists (each sends the Referer of its own report page)."""

    name = "szse"
    exchange = XSHE
    referer = SZSE_REFERER

    def __init__(self, http: HttpClient, url: str):
        self.http = http
        self.url = url.rstrip("/")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], http: HttpConfig):
        """OPTIONS: ``URL`` (the exchange's site)."""
        return cls(
            HttpClient(dataclasses.replace(http, referer=cls.referer)),
            required_option(cls, options, "URL"),
        )

    @classmethod
    def short_form_options(cls, settings: Any) -> dict[str, Any]:
        return {"URL": settings.ETFSYNC_SZSE_URL}


class SzseFundList(SzseReportHost, FundProfileSource):
    """The SZSE's ETF list (catalog 1945) joined with its fund list (1105) for listing dates
    and fund and investment types."""

    def fetch_report(self, catalog: str, page: int, tab: str = DEFAULT_TAB, **extra) -> object:
        params = {
            "SHOWTYPE": "JSON",
            "CATALOGID": catalog,
            # The list tab is paged by its own key: with tab1PAGENO a list in tab2 stays on
            # its first page, which then comes back on every request.
            f"{tab}PAGENO": page,
            # Fewer requests for the ~750 funds; the page count comes from each answer, so a
            # server that caps the size lower is still paged to the end.
            f"{tab}PAGESIZE": SZSE_PAGE_SIZE,
            **extra,
        }
        return self.http.get_json(self.url + SZSE_PATH, params)

    def report_rows(self, catalog: str, columns, on_page=None, **extra):
        """Every row of one report's list tab, page by page: (rows, {field: key}, pages).

        The first answer says which tab holds the list (found by its columns); the later pages
        are asked for by that tab's key. A page that repeats the previous one is a paging
        fault (ProviderDataError); a page with nothing new ends the paging.
        """
        guard = PageGuard(f"SZSE report {catalog}")
        rows, keys, page, page_count, tab = [], {}, 1, 1, DEFAULT_TAB
        while page <= min(page_count, MAX_PAGES):
            where = f"SZSE report {catalog} page {page}"
            page_rows, keys, page_count, tab = find_list_tab(
                self.fetch_report(catalog, page, tab, **extra), columns, where
            )
            rows.extend(guard.fresh(page_rows))
            if on_page:
                on_page(page, len(rows), 0)
            if guard.exhausted:
                break
            page += 1
        return rows, keys, guard.page

    def fund_profiles(self, on_page: ListProgress | None = None) -> ProfileFetch:
        result = ProfileFetch(exchange=self.exchange)
        try:
            rows, keys, result.pages = self.report_rows("1945", FUND_LIST_COLUMNS, on_page)
        except ProviderError as exc:
            result.error = exc
            return result
        collect_profiles(result, rows, lambda row: parse_szse_fund(row, keys), keys.get("code", ""))
        try:
            details, detail_keys, _ = self.report_rows("1105", FUND_TYPE_COLUMNS, selectJjlb="ETF")
        except ProviderError as exc:
            # The list itself is good: keep it, and say what is missing.
            result.problems.append(
                RowProblem(f"SZSE fund types and listing dates (catalog 1105): {exc}", fatal=False)
            )
            return result
        result.profiles = _with_fund_types(result, details, detail_keys)
        return result


def _with_fund_types(result: ProfileFetch, rows: list, keys: dict[str, str]) -> list[FundProfile]:
    details = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        code = strip_cell(row.get(keys["code"]))
        try:
            list_date = parse_listing_date(strip_cell(row.get(keys["list_date"])), f"1105 {code}")
        except ProviderDataError as exc:
            result.problems.append(
                RowProblem(str(exc), code=code, row=source_row(row), fatal=False)
            )
            list_date = None
        category = szse_category(
            strip_cell(row.get(keys["fund_type"])), strip_cell(row.get(keys["investment_type"]))
        )
        details[code] = (list_date, category)
    return [
        dataclasses.replace(
            profile, list_date=details[profile.code][0], category=details[profile.code][1]
        )
        if profile.code in details
        else profile
        for profile in result.profiles
    ]
