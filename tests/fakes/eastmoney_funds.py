"""A fake Eastmoney that also answers for the fund data host (shared/providers.md section 6).

On top of tests.fakes.eastmoney (lists and unadjusted k-lines) it serves the fund dividend
(dt=8) and split (dt=9) lists as JavaScript variables, paged, with the split list's type and
ratio in either column order, and backward-adjusted k-lines (fqt=2, three decimals) computed
from its own events with the multiplicative convention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from werkzeug.wrappers import Request, Response

from etfs.providers.eastmoney.fund_data import INTERFACE_PATH
from tests.fakes.eastmoney import FakeEastmoney, _envelope

THOUSANDTH = Decimal("0.001")


@dataclass(frozen=True)
class FakeDividend:
    code: str
    name: str
    ex_date: str
    cash: str  # as the list writes it: "0.0550"
    record_date: str = ""
    pay_date: str = ""

    def row(self, type_first: bool) -> list[str]:
        return [
            self.code,
            self.name,
            self.record_date or self.ex_date,
            self.ex_date,
            self.cash,
            self.pay_date or self.ex_date,
        ]


@dataclass(frozen=True)
class FakeSplit:
    code: str
    name: str
    ex_date: str
    ratio: str  # "2.000000"
    kind: str = "份额分拆"

    def row(self, type_first: bool) -> list[str]:
        pair = [self.kind, self.ratio] if type_first else [self.ratio, self.kind]
        return [self.code, self.name, self.ex_date, *pair]


class FakeEastmoneyFunds(FakeEastmoney):
    def __init__(self, funds=None, *, dividends=(), splits=(), page_size: int = 100, **kwargs):
        super().__init__(funds, **kwargs)
        self.dividends = list(dividends)
        self.splits = list(splits)
        self.page_size = page_size
        self.split_type_first = True
        # A list that ignores the page asked for: page 1 every time, 500 pages claimed.
        self.ignores_page = False
        # Events the adjusted k-lines apply that the lists do not show (a missed event).
        self.unlisted_splits: list[FakeSplit] = []

    def route(self, request: Request, fault: str | None) -> Response:
        if request.path == INTERFACE_PATH:
            return Response(self.interface_answer(request), mimetype="text/javascript")
        if request.path == "/api/qt/stock/kline/get" and request.args.get("fqt") == "2":
            body = json.dumps(self.adjusted_klines(request), ensure_ascii=False)
            return Response(body, mimetype="application/json")
        return super().route(request, fault)

    def interface_answer(self, request: Request) -> str:
        list_kind = int(request.args.get("dt", 8))
        year = request.args.get("year", "")
        page = 1 if self.ignores_page else int(request.args.get("page", 1))
        events = self.dividends if list_kind == 8 else self.splits
        rows = [
            event.row(self.split_type_first)
            for event in sorted(events, key=lambda event: event.code)
            if event.ex_date.startswith(year)
        ]
        pages = 500 if self.ignores_page else (len(rows) + self.page_size - 1) // self.page_size
        chunk = rows[(page - 1) * self.page_size : page * self.page_size]
        prefix = "jjfh" if list_kind == 8 else "jjcf"
        return (
            f"var pageinfo =[{pages}, {self.page_size}, {page}];//totalPages-{pages}; "
            f"countPerPage-{self.page_size}; currentPage-{page}.\n"
            f"var {prefix}_data={json.dumps(chunk, ensure_ascii=False)};\n"
            f'var {prefix}_jjgs=["华宝基金","易方达"];\nvar {prefix}_year=["{year}"];\n'
        )

    def adjusted_klines(self, request: Request) -> dict:
        market, _, code = request.args.get("secid", "").partition(".")
        fund = self.funds.get((int(market) if market.isdigit() else -1, code))
        if fund is None:
            return _envelope(None)
        steps = {}
        for split in [*self.splits, *self.unlisted_splits]:
            if split.code == code:
                steps[split.ex_date] = Decimal(split.ratio)
        factor, previous_close, lines = Decimal(1), None, []
        for bar in fund.bars:
            day = bar.day.isoformat()
            factor *= steps.get(day, Decimal(1))
            for dividend in self.dividends:
                if dividend.code == code and dividend.ex_date == day and previous_close:
                    factor *= previous_close / (previous_close - Decimal(dividend.cash))
            close = (bar.close * factor).quantize(THOUSANDTH, ROUND_HALF_UP)
            open_ = (bar.open * factor).quantize(THOUSANDTH, ROUND_HALF_UP)
            lines.append(f"{day},{open_},{close},{close},{close},{bar.lots},{bar.amount}")
            previous_close = bar.close
        return _envelope({"code": code, "market": fund.market, "decimal": 3, "klines": lines})
