"""Eastmoney's A-share list: the four boards with the day's quote, and the risk-warning board.

The same push2 ``clist/get`` request as the ETF list (shared/providers.md sections 1 and 8)
with the stock boards in ``fs``: ``m:1 t:2`` SH main, ``m:1 t:23`` STAR, ``m:0 t:6`` SZ main,
``m:0 t:80`` ChiNext; never Beijing (``m:0 t:81 s:2048``), B shares (``m:0 t:7,m:1 t:3``),
indices, nor ``m:0 s:3``: that board lists the OTC codes (400xxx/420xxx) delisted companies
trade under afterwards, not a delisted list. ``f26`` is the listing date. About 5,300 rows: 54
pages of 100, so that the after-close pass gives every stock's day in ceil(N/100) requests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from functools import partial
from typing import Any

from ..base import XSHE, XSHG, DayBars, ListFetch, ListProgress, required_option
from ..http import HttpClient, HttpConfig
from ..stocks import StockListSource
from .client import EastmoneyClient
from .clist import (
    LIST_FIELDS,
    LIST_PAGE_SIZE,
    LIST_PATH,
    day_bars_from_list,
    fetch_list,
    list_params,
)

STOCK_BOARDS = "m:1 t:2,m:1 t:23,m:0 t:6,m:0 t:80"
ST_BOARD = "m:0 f:4,m:1 f:4"
STOCK_LIST_FIELDS = LIST_FIELDS + ",f26,f1"


class EastmoneyStockList(StockListSource):
    """Eastmoney as the primary stock list and the stocks' after-close list pass.

    Its name is the ETF source's: one host, one ban cooldown."""

    name = EastmoneyClient.name
    exchanges = (XSHG, XSHE)
    rows_per_request = LIST_PAGE_SIZE

    def __init__(self, http: HttpClient, push2_url: str):
        self.http = http
        self.push2_url = push2_url.rstrip("/")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], http: HttpConfig) -> EastmoneyStockList:
        """OPTIONS: ``PUSH2_URL`` (the list host)."""
        return cls(
            HttpClient(dataclasses.replace(http, referer=EastmoneyClient.REFERER)),
            push2_url=required_option(cls, options, "PUSH2_URL"),
        )

    @classmethod
    def short_form_options(cls, settings: Any) -> dict[str, Any]:
        return {"PUSH2_URL": settings.ETFSYNC_EASTMONEY_PUSH2_URL}

    def fetch_list_page(self, page: int, page_size: int, boards: str) -> object:
        params = list_params(page, page_size, boards=boards, fields=STOCK_LIST_FIELDS)
        return self.http.get_json(self.push2_url + LIST_PATH, params)

    def fetch_boards(self, boards: str, on_page: ListProgress | None = None) -> ListFetch:
        """Every row of ``boards`` (see ``clist.fetch_list``)."""
        return fetch_list(partial(self.fetch_list_page, boards=boards), on_page)

    def stock_list(self, on_page: ListProgress | None = None) -> ListFetch:
        return self.fetch_boards(STOCK_BOARDS, on_page)

    def st_list(self, on_page: ListProgress | None = None) -> ListFetch:
        return self.fetch_boards(ST_BOARD, on_page)

    def stock_day_bars(self, day: dt.date, on_page: ListProgress | None = None) -> DayBars:
        """After the close the list's quote is the day's final bar of every stock that traded."""
        return day_bars_from_list(self.stock_list(on_page=on_page), day)

    # The price sync's list pass asks every list source the same question.
    day_bars = stock_day_bars
