"""Eastmoney's fund data host as a source of corporate actions: the market's fund dividend
(dt=8) and split/conversion (dt=9) lists, paged by year, and the k-line host's own
backward-adjusted closes to check our factors against (shared/providers.md section 6)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ..base import (
    ActionFetch,
    CorporateActionSource,
    ProviderDataError,
    ProviderError,
    required_option,
)
from ..http import BODY_EXCERPT, HttpClient, HttpConfig
from ..paging import PageGuard
from .client import EastmoneyClient, fetch_backward_adjusted_closes
from .fund_actions import LIST_NAME, parse_action_page

INTERFACE_PATH = "/Data/funddataIndex_Interface.aspx"
# The lists reach back to 1999 (dividends) and 2005 (splits), per akshare's documentation.
FIRST_YEAR = 1999
# Far more pages than a year has ever had (2025: 65 dividend pages of 100 rows).
MAX_PAGES = 500


class EastmoneyFundsClient(CorporateActionSource):
    """The fund data host's dividend and split lists, and the k-line host's adjusted closes."""

    name = "eastmoney_funds"
    lists = tuple(LIST_NAME.items())
    first_year = FIRST_YEAR
    kline_source_name = EastmoneyClient.name
    REFERER = "https://fund.eastmoney.com/data/fundfenhong.html"

    def __init__(self, http: HttpClient, fund_url: str, push2his_url: str = ""):
        self.http = http
        self.fund_url = fund_url.rstrip("/")
        self.push2his_url = push2his_url.rstrip("/")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], http: HttpConfig) -> EastmoneyFundsClient:
        """OPTIONS: ``FUND_URL`` (the fund data host) and ``PUSH2HIS_URL`` (the k-line host
        of the adjusted-close cross-check)."""
        return cls(
            HttpClient(dataclasses.replace(http, referer=cls.REFERER)),
            fund_url=required_option(cls, options, "FUND_URL"),
            push2his_url=required_option(cls, options, "PUSH2HIS_URL"),
        )

    @classmethod
    def short_form_options(cls, settings: Any) -> dict[str, Any]:
        return {
            "FUND_URL": settings.ETFSYNC_EASTMONEY_FUND_URL,
            "PUSH2HIS_URL": settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL,
        }

    def backward_adjusted_closes(
        self, code: str, exchange: str, start: dt.date, end: dt.date
    ) -> dict[dt.date, Decimal]:
        """The source's own backward-adjusted (fqt=2) daily closes: three decimals, a check."""
        return fetch_backward_adjusted_closes(
            self.http, self.push2his_url, code, exchange, start, end
        )

    def fetch_action_page(self, list_kind: int, year: int, page: int) -> str:
        params = {
            "dt": list_kind,
            "page": page,
            # By code: a stable order while we page (ties of one fund stay together).
            "rank": "BZDM",
            "sort": "asc",
            "gs": "",
            "ftype": "",
            "year": year,
        }
        return self.http.get_text(self.fund_url + INTERFACE_PATH, params)

    def corporate_actions(
        self, list_kind: int, year: int, on_page: Callable[[int, int], None] | None = None
    ) -> ActionFetch:
        """Page through one list for one year. A failure midway is kept on the result with
        the events fetched before it, so that the caller stores the good part."""
        fetch = ActionFetch()
        guard = PageGuard(f"{LIST_NAME[list_kind]} {year}")
        page = 1
        while page <= MAX_PAGES:
            text = None
            try:
                text = self.fetch_action_page(list_kind, year, page)
                parsed = parse_action_page(text, list_kind)
                # The page's rows as the source sent them: a page that repeats the one before
                # is a paging fault, one with nothing new ends the paging (whatever pageinfo
                # claims: 500 pages of one repeated page cost two requests).
                guard.fresh(parsed.source_rows)
            except ProviderError as exc:
                if isinstance(exc, ProviderDataError) and exc.body is None and text:
                    exc.body = text[:BODY_EXCERPT]
                fetch.error = exc
                break
            fetch.pages += 1
            fetch.total_pages = parsed.total_pages
            fetch.actions.extend(parsed.actions)
            fetch.problems.extend(parsed.problems)
            if on_page:
                on_page(page, parsed.total_pages)
            # An empty year answers pageinfo [0, ...] (or [1, ...] with no rows); a short last
            # page ends the list like any other last page.
            if page >= parsed.total_pages or parsed.raw_rows == 0 or guard.exhausted:
                break
            page += 1
        return fetch
