"""The contract for A-share stock lists: records, the two list capabilities, and the boards.

Shanghai and Shenzhen A shares only (shared/providers.md section 8): Beijing, B shares and
indices are out of scope. The primary list (Eastmoney's four A-share boards) decides what is
listed and carries the day's quote; the exchanges' own lists give listing dates and, in their
delisted lists, the delisting dates. Nothing here imports Django.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .base import XSHE, XSHG, DayBars, ListFetch, ListProgress, Provider, ProviderError, RowProblem

MAIN, STAR, CHINEXT = "main", "star", "chinext"

# A-share code prefixes per exchange and board (shared/providers.md section 8): SH main
# 600/601/603/605, STAR 688/689, SZ main 000/001/002/003, ChiNext 300/301.
A_SHARE_PREFIXES = {
    XSHG: {"600": MAIN, "601": MAIN, "603": MAIN, "605": MAIN, "688": STAR, "689": STAR},
    XSHE: {"000": MAIN, "001": MAIN, "002": MAIN, "003": MAIN, "300": CHINEXT, "301": CHINEXT},
}


def board_of(code: str, exchange: str) -> str:
    """The A-share board of a code on its exchange, or "" when it is no A-share code (a B share,
    an OTC 400xxx code, a fund)."""
    return A_SHARE_PREFIXES.get(exchange, {}).get(code[:3], "")


@dataclass(frozen=True, slots=True)
class StockProfile:
    """A stock as an exchange's own list gives it: listed, or delisted with its date."""

    code: str
    exchange: str
    name: str
    list_date: dt.date | None = None
    delist_date: dt.date | None = None


@dataclass
class ExchangeStockFetch:
    """One exchange's current and delisted stock lists; an ``error`` each, as in ListFetch."""

    exchange: str
    listed: list[StockProfile] = field(default_factory=list)
    delisted: list[StockProfile] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    pages: int = 0
    error: ProviderError | None = None
    delisted_error: ProviderError | None = None


class StockListSource(Provider):
    """Every A share of the four boards with the day's quote (the primary stock list), the
    codes on the risk-warning board, and the day's bars from one pass over the list."""

    capability = "stock_list"

    exchanges: tuple[str, ...] = (XSHG, XSHE)
    rows_per_request: int = 100

    def stock_list(self, on_page: ListProgress | None = None) -> ListFetch:
        raise NotImplementedError(f"{type(self).__name__} must provide a stock_list() method")

    def st_list(self, on_page: ListProgress | None = None) -> ListFetch:
        """The stocks on the risk-warning (ST, *ST) board now."""
        raise NotImplementedError(f"{type(self).__name__} must provide an st_list() method")

    def stock_day_bars(self, day: dt.date, on_page: ListProgress | None = None) -> DayBars:
        raise NotImplementedError(f"{type(self).__name__} must provide stock_day_bars()")


class ExchangeStockSource(Provider):
    """One exchange's own stock lists: the listed A shares with their listing dates, and the
    delisted ones with their delisting dates."""

    capability = "exchange_stock_lists"

    exchange: str = ""

    def stock_lists(self, on_page: ListProgress | None = None) -> ExchangeStockFetch:
        raise NotImplementedError(f"{type(self).__name__} must provide a stock_lists() method")
