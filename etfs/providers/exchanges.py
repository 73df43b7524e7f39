"""The exchanges' own fund lists: SSE ``FUND_LIST`` and SZSE ShowReport catalogs 1945 and 1105.

Wire formats: shared/providers.md section 7. They give what Eastmoney's list lacks (listing
date, category, tracking index, manager) and a second opinion on which funds are listed.
Neither marks delisted funds, so a fund missing here is a hint, never proof.
``parse_*`` functions are pure; the classes do the paging.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
from decimal import Decimal
from typing import Any

from .base import (
    XSHE,
    XSHG,
    FundProfile,
    FundProfileSource,
    ListProgress,
    ProfileFetch,
    ProviderDataError,
    ProviderError,
    RowProblem,
    is_security_code,
)
from .http import HttpClient, HttpConfig

# Far more pages than either list has (about 900 and 750 funds): a source that keeps sending
# "one more page" is stopped here instead of paging forever.
MAX_PAGES = 60

# --- SSE --------------------------------------------------------------------------------------

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
        payload = json.loads(strip_jsonp(text), parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ProviderDataError(
            f"SSE fund list: not JSON or JSONP ({exc.msg} at character {exc.pos})",
            body=text[:500],
        ) from None
    if not isinstance(payload, dict):
        raise ProviderDataError(f"SSE fund list: answer is {type(payload).__name__}, not an object")
    return payload


def parse_sse_page(payload: dict) -> tuple[list[dict], int]:
    """The rows of one FUND_LIST page and the page count the source reports."""
    page_help = payload.get("pageHelp")
    rows = payload.get("result")
    if rows is None and isinstance(page_help, dict):
        rows = page_help.get("data")
    if not isinstance(rows, list):
        raise ProviderDataError("SSE fund list: neither 'result' nor 'pageHelp.data' is a list")
    page_count = 1
    if isinstance(page_help, dict):
        page_count = _int(page_help.get("pageCount"), default=1)
    return rows, page_count


def parse_sse_fund(row: object) -> FundProfile:
    if not isinstance(row, dict):
        raise ProviderDataError(f"SSE fund list row is {type(row).__name__}, expected an object")
    code = _text(row.get("fundCode"))
    if not is_security_code(code):
        raise ProviderDataError(f"SSE fund list row: fundCode {code!r} is not six ASCII digits")
    name = _text(row.get("secNameFull")) or _text(row.get("fundAbbr"))
    if not name:
        raise ProviderDataError(f"SSE fund list row {code}: no name (secNameFull, fundAbbr)")
    sub_class = _text(row.get("subClass"))
    return FundProfile(
        code=code,
        exchange=XSHG,
        name=name,
        list_date=parse_listing_date(row.get("listingDate"), f"SSE fund list row {code}"),
        category=SSE_SUBCLASSES.get(
            sub_class, f"ETF (SSE sub-class {sub_class})" * bool(sub_class)
        ),
        tracking_index_code=_text(row.get("INDEX_CODE")),
        tracking_index_name=_text(row.get("INDEX_NAME")),
        fund_manager=_text(row.get("companyName")),
    )


def parse_listing_date(value: object, where: str) -> dt.date | None:
    """``20120528`` or ``2012-05-28`` (both are seen); empty means not given."""
    text = _text(value)
    if not text:
        return None
    for layout in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise ProviderDataError(f"{where}: listing date {text!r} is neither YYYYMMDD nor YYYY-MM-DD")


class SseFundList(FundProfileSource):
    """The SSE's ETF list (``sqlId=FUND_LIST``, ``fundType=00``), paged 100 at a time."""

    name = "sse"
    exchange = XSHG

    def __init__(self, http: HttpClient, query_url: str):
        self.http = http
        self.query_url = query_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Any, http: HttpConfig) -> SseFundList:
        # The query host answers only requests that come from its own site.
        return cls(
            HttpClient(dataclasses.replace(http, referer=SSE_REFERER)),
            settings.ETFSYNC_SSE_QUERY_URL,
        )

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
        result = ProfileFetch(exchange=self.exchange)
        page, page_count = 1, 1
        while page <= min(page_count, MAX_PAGES):
            try:
                rows, page_count = parse_sse_page(self.fetch_page(page))
            except ProviderError as exc:
                result.error = exc
                break
            result.pages = page
            _collect(result, rows, parse_sse_fund, "fundCode")
            if on_page:
                on_page(page, len(result.profiles), 0)
            if not rows:
                break
            page += 1
        return result


# --- SZSE -------------------------------------------------------------------------------------

SZSE_PATH = "/api/report/ShowReport/data"
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
TAGS = re.compile(r"<[^>]*>")


def strip_cell(value: object) -> str:
    """A ShowReport cell as text: HTML tags out, entities decoded, whitespace trimmed."""
    return html.unescape(TAGS.sub("", _text(value))).strip()


def find_tab(payload: object, columns: dict[str, tuple[str, ...]], where: str):
    """The tab whose columns hold every wanted field, as (rows, {field: key}, page count)."""
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
            return rows, keys, _int(metadata.get("pagecount"), default=1)
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


class SzseFundList(FundProfileSource):
    """The SZSE's ETF list (catalog 1945) joined with its fund list (1105) for listing dates
    and fund and investment types."""

    name = "szse"
    exchange = XSHE

    def __init__(self, http: HttpClient, url: str):
        self.http = http
        self.url = url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Any, http: HttpConfig) -> SzseFundList:
        return cls(
            HttpClient(dataclasses.replace(http, referer=SZSE_REFERER)), settings.ETFSYNC_SZSE_URL
        )

    def fetch_report(self, catalog: str, page: int, **extra) -> object:
        params = {
            "SHOWTYPE": "JSON",
            "CATALOGID": catalog,
            "tab1PAGENO": page,
            # Fewer requests for the ~750 funds; the page count comes from each answer, so a
            # server that caps the size lower is still paged to the end.
            "tab1PAGESIZE": SZSE_PAGE_SIZE,
            **extra,
        }
        return self.http.get_json(self.url + SZSE_PATH, params)

    def report_rows(self, catalog: str, columns, on_page=None, **extra):
        """Every row of one report's list tab, page by page: (rows, {field: key}, pages)."""
        rows, keys, page, page_count = [], {}, 1, 1
        while page <= min(page_count, MAX_PAGES):
            where = f"SZSE report {catalog} page {page}"
            page_rows, keys, page_count = find_tab(
                self.fetch_report(catalog, page, **extra), columns, where
            )
            rows.extend(page_rows)
            if on_page:
                on_page(page, len(rows), 0)
            if not page_rows:
                break
            page += 1
        return rows, keys, page - 1

    def fund_profiles(self, on_page: ListProgress | None = None) -> ProfileFetch:
        result = ProfileFetch(exchange=self.exchange)
        try:
            rows, keys, result.pages = self.report_rows("1945", FUND_LIST_COLUMNS, on_page)
        except ProviderError as exc:
            result.error = exc
            return result
        _collect(result, rows, lambda row: parse_szse_fund(row, keys), keys.get("code", ""))
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
                RowProblem(str(exc), code=code, row=repr(row)[:300], fatal=False)
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


# --- shared -----------------------------------------------------------------------------------


def _collect(result: ProfileFetch, rows: list, parse, code_key: str) -> None:
    """Parse rows into the result; a bad row is a problem of its own, the rest are kept."""
    for row in rows:
        try:
            result.profiles.append(parse(row))
        except ProviderDataError as exc:
            code = strip_cell(row.get(code_key)) if isinstance(row, dict) else ""
            result.problems.append(RowProblem(str(exc), code=code, row=repr(row)[:300]))


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value).strip()


def _int(value: object, *, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default
