"""A-share stocks for the fake Eastmoney (shared/providers.md section 8).

The same ``clist/get`` and k-line endpoints serve them, chosen by the request's ``fs``:
- the four A-share boards ``m:1 t:2`` (SH main), ``m:1 t:23`` (STAR), ``m:0 t:6`` (SZ main),
  ``m:0 t:80`` (ChiNext), with ``f26`` the listing date and ``f1`` = 2 price decimals;
- the risk-warning board ``m:0 f:4,m:1 f:4`` (ST and *ST stocks);
- the ``m:0 s:3`` board: the OTC codes (400xxx/420xxx) delisted companies trade under
  afterwards. A trap: it is not the delisted list.
Stock k-lines carry 2 decimals; a long-delisted stock answers an empty ``klines``.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .eastmoney import FakeBar, FakeFund, fake_trading_days

CENT = Decimal("0.01")
SH_MAIN, STAR, SZ_MAIN, CHINEXT = "m:1 t:2", "m:1 t:23", "m:0 t:6", "m:0 t:80"
STOCK_BOARDS = (SH_MAIN, STAR, SZ_MAIN, CHINEXT)
ST_BOARD = ("m:0 f:4", "m:1 f:4")
OTC_BOARD = "m:0 s:3"
BOARD_MARKET = {SH_MAIN: 1, STAR: 1, SZ_MAIN: 0, CHINEXT: 0, OTC_BOARD: 0}


@dataclass
class FakeStock(FakeFund):
    board: str = SH_MAIN
    list_date: dt.date | None = dt.date(2010, 1, 4)
    st: bool = False
    # False: off Eastmoney's A-share list (delisted); its k-lines are still served.
    listed: bool = True
    # A long-delisted stock: the k-line endpoint answers rc 0 with no rows at all.
    empty_klines: bool = False
    decimal: int = 2

    def on_board(self, tokens: set[str]) -> bool:
        if OTC_BOARD in tokens:
            return self.board == OTC_BOARD
        if tokens & set(ST_BOARD):
            return self.listed and self.st and f"m:{self.market} f:4" in tokens
        return self.listed and self.board in tokens

    def list_row(self, fields, today_only, updated=None) -> dict:
        row = FakeFund.list_row(self, fields, today_only, updated)
        extra = {
            "f1": 2,
            "f26": int(self.list_date.strftime("%Y%m%d")) if self.list_date else "-",
        }
        row.update({key: value for key, value in extra.items() if key in fields})
        return row


def make_stock_bars(seed: int, start: dt.date, end: dt.date, holidays=()) -> list[FakeBar]:
    """Bars with prices in cents, as the source writes stocks (``decimal: 2``)."""
    rng = random.Random(seed)
    price = Decimal(rng.randint(300, 8000)) / 100
    bars = []
    for day in fake_trading_days(start, end, holidays):
        open_ = price
        close = max(CENT * 10, (price * Decimal(1 + rng.uniform(-0.05, 0.05))).quantize(CENT))
        high = (max(open_, close) * Decimal(1 + rng.uniform(0, 0.02))).quantize(CENT, ROUND_HALF_UP)
        low = (min(open_, close) * Decimal(1 - rng.uniform(0, 0.02))).quantize(CENT)
        lots = rng.randint(1000, 900_000)
        average = low + (high - low) * Decimal(rng.random())
        amount = (average * lots * 100).quantize(CENT)
        bars.append(FakeBar(day, open_, close, high, low, lots, amount))
        price = close
    return bars


# The first code of each board in make_stocks (SZ main starts at 000001, a bank).
FIRST_CODE = {SH_MAIN: 600000, STAR: 688001, SZ_MAIN: 1, CHINEXT: 300001}
BOARD_NAME = {SH_MAIN: "沪主板", STAR: "科创", SZ_MAIN: "深主板", CHINEXT: "创业"}


def make_stocks(
    count: int, start: dt.date, end: dt.date, seed: int = 11, holidays=()
) -> list[FakeStock]:
    """``count`` stocks spread over the four boards in turn, each with its own history."""
    stocks = []
    for index in range(count):
        board = STOCK_BOARDS[index % 4]
        number = FIRST_CODE[board] + index // 4
        stocks.append(
            FakeStock(
                code=f"{number:06d}",
                market=BOARD_MARKET[board],
                name=f"{BOARD_NAME[board]}{index // 4}",
                bars=make_stock_bars(seed + index, start, end, holidays),
                board=board,
                list_date=dt.date(2010, 1, 4) + dt.timedelta(days=index),
            )
        )
    return stocks


def otc_stock(code: str = "400001", name: str = "退市A1") -> FakeStock:
    """A row of the ``m:0 s:3`` board: the OTC code of a delisted company."""
    return FakeStock(code=code, market=0, name=name, board=OTC_BOARD, list_date=None)


def delisted_stock(code: str, market: int, name: str, bars: list[FakeBar], **fields) -> FakeStock:
    """A stock that left Eastmoney's A-share list; its k-lines (or none) are still served."""
    board = SH_MAIN if market == 1 else SZ_MAIN
    return FakeStock(
        code=code, market=market, name=name, bars=bars, board=board, listed=False, **fields
    )


# The runnable fakes' stock market (``--stocks N``): the same N gives the same stocks on both
# programs, so Eastmoney's list and the exchanges' lists agree.
PROGRAM_DELISTED_ON = dt.date(2024, 2, 1)


def program_stocks(
    count: int, start: dt.date, end: dt.date, holidays=()
) -> tuple[list[FakeStock], list[FakeStock]]:
    """``count`` listed stocks over the four boards, every tenth from the fourth on ST, and
    (when ``count``) two delisted ones off Eastmoney's list: one on the SSE delisted on
    PROGRAM_DELISTED_ON with its bars up to then, one on the SZSE long gone (no k-lines)."""
    stocks = make_stocks(count, start, end, holidays=holidays)
    for index, stock in enumerate(stocks):
        if index % 10 == 3:
            stock.st, stock.name = True, f"*ST{stock.name}"
    if not count:
        return stocks, []

    def next_code(board: str) -> str:
        codes = [int(stock.code) for stock in stocks if stock.board == board]
        return f"{max(codes, default=FIRST_CODE[board] - 1) + 1:06d}"

    bars = make_stock_bars(87, start, min(end, PROGRAM_DELISTED_ON - dt.timedelta(days=1)))
    delisted = [
        delisted_stock(
            next_code(SH_MAIN),
            1,
            "退市沪股",
            bars,
            list_date=dt.date(1997, 6, 12),
            empty_klines=not bars,
        ),
        delisted_stock(
            next_code(SZ_MAIN), 0, "PT深股", [], list_date=dt.date(1991, 7, 3), empty_klines=True
        ),
    ]
    return stocks, delisted
