"""Eastmoney's datacenter as a source: the stocks' corporate actions (by year or by security)
and the daily suspension snapshot of every security, funds included (providers.md section 8).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ..base import (
    ActionFetch,
    ProviderDataError,
    RowProblem,
    StockActionSource,
    SuspensionFetch,
    SuspensionSource,
    required_option,
)
from ..http import HttpClient, HttpConfig
from .client import EastmoneyClient, fetch_backward_adjusted_closes
from .datacenter import (
    BONUS_REPORT,
    DATACENTER_PATH,
    RIGHTS_REPORT,
    SUSPENSION_REPORT,
    fetch_report,
    parse_event_rows,
    parse_suspension_row,
    report_params,
)

# The date column each event report is filtered on by year, and sorted by.
EVENT_DATE_COLUMN = {BONUS_REPORT: "EX_DIVIDEND_DATE", RIGHTS_REPORT: "EQUITY_RECORD_DATE"}
LISTS = (
    (1, f"stock dividends and bonus shares ({BONUS_REPORT})"),
    (2, f"stock rights issues ({RIGHTS_REPORT})"),
)
REPORT_OF_LIST = {1: BONUS_REPORT, 2: RIGHTS_REPORT}


class EastmoneyDatacenter(StockActionSource, SuspensionSource):
    """Stock dividends, bonus and rights shares; every security's suspensions."""

    name = "eastmoney_data"
    lists = LISTS
    # RPT_SHAREBONUS_DET reaches back to the early 1990s.
    first_year = 1991
    kline_source_name = EastmoneyClient.name
    by_security = True
    REFERER = "https://data.eastmoney.com/"

    def __init__(self, http: HttpClient, datacenter_url: str, push2his_url: str = ""):
        self.http = http
        self.datacenter_url = datacenter_url.rstrip("/")
        self.push2his_url = push2his_url.rstrip("/")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], http: HttpConfig) -> EastmoneyDatacenter:
        """OPTIONS: ``DATACENTER_URL`` (the datacenter host) and ``PUSH2HIS_URL`` (the k-line
        host of the adjusted-close cross-check)."""
        return cls(
            HttpClient(dataclasses.replace(http, referer=cls.REFERER)),
            datacenter_url=required_option(cls, options, "DATACENTER_URL"),
            push2his_url=required_option(cls, options, "PUSH2HIS_URL"),
        )

    @classmethod
    def short_form_options(cls, settings: Any) -> dict[str, Any]:
        return {
            "DATACENTER_URL": settings.ETFSYNC_EASTMONEY_DATACENTER_URL,
            "PUSH2HIS_URL": settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL,
        }

    def _page_getter(self, report: str, filter_: str, sort_column: str):
        url = self.datacenter_url + DATACENTER_PATH
        return lambda page: self.http.get_json(
            url, report_params(report, filter_, page, sort_column)
        )

    def corporate_actions(
        self, list_kind: int, year: int, on_page: Callable[[int, int], None] | None = None
    ) -> ActionFetch:
        report = REPORT_OF_LIST[list_kind]
        column = EVENT_DATE_COLUMN[report]
        filter_ = f"({column}>='{year}-01-01')({column}<='{year}-12-31')"
        return self._events(report, filter_, on_page)

    def security_actions(
        self, list_kind: int, code: str, on_page: Callable[[int, int], None] | None = None
    ) -> ActionFetch:
        report = REPORT_OF_LIST[list_kind]
        return self._events(report, f'(SECURITY_CODE="{code}")', on_page)

    def _events(self, report: str, filter_: str, on_page) -> ActionFetch:
        fetch = ActionFetch()
        getter = self._page_getter(report, filter_, EVENT_DATE_COLUMN[report])
        rows, fetch.pages, fetch.error = fetch_report(getter, report, on_page)
        fetch.actions, fetch.problems, fetch.plans = parse_event_rows(rows, report)
        return fetch

    def suspensions(
        self, day: dt.date, on_page: Callable[[int, int], None] | None = None
    ) -> SuspensionFetch:
        """One day's snapshot: both filter terms are required by the report."""
        fetch = SuspensionFetch(day)
        filter_ = f"(MARKET=\"全部\")(DATETIME='{day.isoformat()}')"
        getter = self._page_getter(SUSPENSION_REPORT, filter_, "SUSPEND_START_DATE")
        rows, fetch.pages, fetch.error = fetch_report(getter, SUSPENSION_REPORT, on_page)
        for row in rows:
            try:
                fetch.suspensions.append(parse_suspension_row(row))
            except ProviderDataError as exc:
                code = str(row.get("SECURITY_CODE", "")) if isinstance(row, dict) else ""
                fetch.problems.append(RowProblem(str(exc), code=code[:20], row=str(row)[:300]))
        return fetch

    def backward_adjusted_closes(
        self, code: str, exchange: str, start: dt.date, end: dt.date
    ) -> dict[dt.date, Decimal]:
        """The source's own backward-adjusted (fqt=2) closes: affine for stocks, a check."""
        return fetch_backward_adjusted_closes(
            self.http, self.push2his_url, code, exchange, start, end
        )
