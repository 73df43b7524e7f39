"""Eastmoney as a source: the primary fund list, daily k-lines, the day's bars in one list
pass, and the trading days (push2 and push2his; shared/providers.md sections 1, 2 and 5)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..base import (
    XSHE,
    XSHG,
    DailyBarSource,
    DayBars,
    FundListSource,
    KlineSeries,
    ListFetch,
    ListPassBarSource,
    ListProgress,
    ProviderDataError,
    TradingDaySource,
    required_option,
)
from ..http import HttpClient, HttpConfig
from .clist import (
    LIST_PAGE_SIZE,
    LIST_PATH,
    day_bars_from_list,
    fetch_list,
    list_params,
)
from .klines import (
    BACKWARD_ADJUSTED,
    CALENDAR_INDEX_CODE,
    KLINE_PATH,
    kline_params,
    parse_adjusted_closes,
    parse_index_days,
    parse_kline_response,
)
from .wire import with_answer


def fetch_backward_adjusted_closes(
    http: HttpClient, push2his_url: str, code: str, exchange: str, start: dt.date, end: dt.date
) -> dict[dt.date, Decimal]:
    """The source's own backward-adjusted (fqt=2) daily closes of one security, from the
    k-line host: the cross-check of the fund and the stock event sources alike."""
    params = kline_params(code, exchange, start, end, adjustment=BACKWARD_ADJUSTED)
    return parse_adjusted_closes(http.get_json(push2his_url + KLINE_PATH, params), code)


class EastmoneyClient(FundListSource, DailyBarSource, ListPassBarSource, TradingDaySource):
    """Eastmoney as a provider: the primary fund list, k-lines, and the day's bars in one pass."""

    name = "eastmoney"
    exchanges = (XSHG, XSHE)
    rows_per_request = LIST_PAGE_SIZE
    REFERER = "https://quote.eastmoney.com/"

    def __init__(self, http: HttpClient, push2_url: str, push2his_url: str):
        self.http = http
        self.push2_url = push2_url.rstrip("/")
        self.push2his_url = push2his_url.rstrip("/")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], http: HttpConfig) -> EastmoneyClient:
        """OPTIONS: ``PUSH2_URL`` (the list host) and ``PUSH2HIS_URL`` (the k-line host)."""
        return cls(
            HttpClient(dataclasses.replace(http, referer=cls.REFERER)),
            push2_url=required_option(cls, options, "PUSH2_URL"),
            push2his_url=required_option(cls, options, "PUSH2HIS_URL"),
        )

    @classmethod
    def short_form_options(cls, settings: Any) -> dict[str, Any]:
        return {
            "PUSH2_URL": settings.ETFSYNC_EASTMONEY_PUSH2_URL,
            "PUSH2HIS_URL": settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL,
        }

    def fund_list(self, on_page: ListProgress | None = None) -> ListFetch:
        return self.fetch_etf_list(on_page)

    def day_bars(self, day: dt.date, on_page: ListProgress | None = None) -> DayBars:
        """After the close the list's quote is the day's final bar of every fund that traded."""
        return day_bars_from_list(self.fetch_etf_list(on_page=on_page), day)

    def fetch_list_page(self, page: int, page_size: int = LIST_PAGE_SIZE) -> object:
        return self.http.get_json(self.push2_url + LIST_PATH, list_params(page, page_size))

    def fetch_etf_list(self, on_page: ListProgress | None = None) -> ListFetch:
        """Every fund of the ETF boards (see ``clist.fetch_list``)."""
        return fetch_list(self.fetch_list_page, on_page)

    def fetch_klines(self, code: str, exchange: str, start: dt.date, end: dt.date) -> object:
        params = kline_params(code, exchange, start, end)
        return self.http.get_json(self.push2his_url + KLINE_PATH, params)

    def check_access(self, today: dt.date) -> None:
        """Ask what the source answers any client it does not refuse: the SSE Composite's
        k-lines of the last days (secid 1.000001, shared/providers.md section 5).

        One fund's HTML or empty answer is ambiguous (a ban, or that fund's own broken page);
        ProviderBlocked from this request too says it is a ban.
        """
        self.fetch_klines(CALENDAR_INDEX_CODE, XSHG, today - dt.timedelta(days=10), today)

    def trading_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """The SSE Composite index's bar dates in [start, end] (unadjusted, ``fqt=0``)."""
        payload = self.fetch_klines(CALENDAR_INDEX_CODE, XSHG, start, end)
        try:
            return parse_index_days(payload)
        except ProviderDataError as exc:
            with_answer(exc, payload)
            raise

    def daily_bars(
        self, code: str, exchange: str, start: dt.date, end: dt.date, today: dt.date
    ) -> KlineSeries:
        payload = self.fetch_klines(code, exchange, start, end)
        try:
            return parse_kline_response(payload, code=code, exchange=exchange, today=today)
        except ProviderDataError as exc:
            with_answer(exc, payload)
            raise
