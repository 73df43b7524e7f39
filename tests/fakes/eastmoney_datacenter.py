"""A fake Eastmoney datacenter (shared/providers.md section 8) on top of the fake fund host.

``/api/data/v1/get`` answers the three reports etfsync reads in the datacenter's envelope:
``RPT_SHAREBONUS_DET`` and ``RPT_IPO_ALLOTMENT`` rows (filtered by ``SECURITY_CODE`` or by a
date range, as the real filter syntax writes them), and ``RPT_CUSTOM_SUSPEND_DATA_INTERFACE``
snapshots per date (both filter terms required, as the real report does). No rows is the real
``code 9201 "返回数据为空"``; an unknown report ``code 9501``. ``ignores_paging`` makes it answer
page 1 to every request while claiming 500 pages.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal

from werkzeug.wrappers import Request, Response

from etfs.providers.eastmoney.datacenter import DATACENTER_PATH
from tests.fakes.eastmoney import _envelope
from tests.fakes.eastmoney_funds import FakeEastmoneyFunds

HUNDREDTH = Decimal("0.01")
REPORTS = ("RPT_SHAREBONUS_DET", "RPT_IPO_ALLOTMENT", "RPT_CUSTOM_SUSPEND_DATA_INTERFACE")
TERM = re.compile(r"\((\w+)\s*(=|>=|<=)\s*[\"']([^\"']*)[\"']\)")


def bonus_row(code: str, ex_date: str | None, *, cash=None, bonus=None, it=None, total=None):
    """A RPT_SHAREBONUS_DET row as the datacenter writes it (per 10 shares; dates with time)."""
    suffix = "SH" if code.startswith("6") else "SZ"
    return {
        "SECURITY_CODE": code,
        "SECUCODE": f"{code}.{suffix}",
        "SECURITY_NAME_ABBR": f"股票{code}",
        "REPORT_DATE": "2023-12-31 00:00:00",
        "EX_DIVIDEND_DATE": f"{ex_date} 00:00:00" if ex_date else None,
        "EQUITY_RECORD_DATE": f"{ex_date} 00:00:00" if ex_date else None,
        "ASSIGN_PROGRESS": "实施分配" if ex_date else "董事会预案",
        "PRETAX_BONUS_RMB": cash,
        "BONUS_RATIO": bonus,
        "IT_RATIO": it,
        "BONUS_IT_RATIO": total,
        "IMPL_PLAN_PROFILE": "",
    }


def rights_row(code: str, record_date: str, per_ten, price):
    suffix = "SH" if code.startswith("6") else "SZ"
    return {
        "SECURITY_CODE": code,
        "SECUCODE": f"{code}.{suffix}",
        "SECURITY_NAME_ABBR": f"股票{code}",
        "PLACING_RATIO": per_ten,
        "ISSUE_PRICE": price,
        "EQUITY_RECORD_DATE": f"{record_date} 00:00:00",
    }


def suspension_row(code: str, start: str, end: str | None, reason: str = "重大事项"):
    return {
        "SECURITY_CODE": code,
        "SECURITY_NAME_ABBR": f"股票{code}",
        "SUSPEND_START_DATE": f"{start} 09:30:00",
        "SUSPEND_END_DATE": f"{end} 15:00:00" if end else None,
        "SUSPEND_EXPIRE": "连续停牌",
        "SUSPEND_REASON": reason,
        "TRADE_MARKET": "上交所主板" if code.startswith(("5", "6")) else "深交所主板",
        "PREDICT_RESUME_DATE": None,
    }


class FakeEastmoneyDatacenter(FakeEastmoneyFunds):
    def __init__(self, funds=None, *, bonus=(), rights=(), suspensions=None, **kwargs):
        super().__init__(funds, **kwargs)
        self.bonus = list(bonus)
        self.rights = list(rights)
        # date "YYYY-MM-DD" -> rows of that day's snapshot
        self.suspensions: dict[str, list[dict]] = dict(suspensions or {})
        self.report_page_size = 500
        self.ignores_paging = False
        # Events the adjusted k-lines apply that the reports do not list (a missed event), and
        # the ex-date of each stock's rights issue (the trading day after its record date).
        self.unlisted_bonus: list[dict] = []
        self.rights_ex_dates: dict[str, str] = {}

    def route(self, request: Request, fault: str | None) -> Response:
        if request.path == DATACENTER_PATH:
            body = json.dumps(self.report_answer(request), ensure_ascii=False)
            return Response(body, mimetype="application/json")
        return super().route(request, fault)

    def adjusted_klines(self, request: Request) -> dict:
        """A stock's backward-adjusted closes as Eastmoney computes them: affine, hfq = a x
        raw + b, with a multiplied by the shares after per share before on a share event and
        b moved by a x the cash (less the rights' cost), two decimals."""
        market, _, code = request.args.get("secid", "").partition(".")
        stock = self.funds.get((int(market) if market.isdigit() else -1, code))
        if stock is None or not code.startswith(("0", "3", "6")):
            return super().adjusted_klines(request)
        events = self.stock_events(code)
        scale, shift, lines = Decimal(1), Decimal(0), []
        for bar in stock.bars:
            units, value = events.get(bar.day.isoformat(), (Decimal(1), Decimal(0)))
            shift += scale * value
            scale *= units
            close = (bar.close * scale + shift).quantize(HUNDREDTH, ROUND_HALF_UP)
            lines.append(f"{bar.day},{close},{close},{close},{close},{bar.lots},{bar.amount}")
        return _envelope({"code": code, "market": stock.market, "decimal": 2, "klines": lines})

    def stock_events(self, code: str) -> dict[str, tuple[Decimal, Decimal]]:
        """Ex-date -> (shares after per share before, cash less the rights' cost per share)."""
        events: dict[str, tuple[Decimal, Decimal]] = {}

        def add(day: str, units: Decimal, value: Decimal) -> None:
            seen = events.get(day, (Decimal(1), Decimal(0)))
            events[day] = (seen[0] + units - 1, seen[1] + value)

        for row in [*self.bonus, *self.unlisted_bonus]:
            if row["SECURITY_CODE"] == code and row["EX_DIVIDEND_DATE"]:
                per_ten = sum(Decimal(str(row[k] or 0)) for k in ("BONUS_RATIO", "IT_RATIO"))
                cash = Decimal(str(row["PRETAX_BONUS_RMB"] or 0)) / 10
                add(row["EX_DIVIDEND_DATE"][:10], 1 + per_ten / 10, cash)
        for row in self.rights:
            if row["SECURITY_CODE"] == code:
                rights = Decimal(str(row["PLACING_RATIO"])) / 10
                day = row.get("EX_DIVIDEND_DATE") or self.rights_ex_dates[code]
                add(day, 1 + rights, -Decimal(str(row["ISSUE_PRICE"])) * rights)
        return events

    def report_answer(self, request: Request) -> dict:
        report = request.args.get("reportName", "")
        if report not in REPORTS:
            return {"result": None, "success": False, "message": "报表不存在", "code": 9501}
        terms = {(name, op): value for name, op, value in TERM.findall(request.args["filter"])}
        if report == REPORTS[2]:
            if ("MARKET", "=") not in terms or ("DATETIME", "=") not in terms:
                return {"result": None, "success": False, "message": "参数错误", "code": 9501}
            rows = self.suspensions.get(terms[("DATETIME", "=")], [])
        else:
            rows = [row for row in (self.bonus if report == REPORTS[0] else self.rights)]
            rows = [row for row in rows if _matches(row, terms)]
        return self._page(rows, int(request.args.get("pageNumber", 1)))

    def _page(self, rows: list[dict], page: int) -> dict:
        if not rows:
            return {"result": None, "success": False, "message": "返回数据为空", "code": 9201}
        size = self.report_page_size
        pages = (len(rows) + size - 1) // size
        if self.ignores_paging:
            page, pages = 1, 500
        chunk = rows[(page - 1) * size : page * size]
        result = {"pages": pages, "data": chunk, "count": len(rows)}
        return {"version": "fake", "result": result, "success": True, "message": "ok", "code": 0}


def _matches(row: dict, terms: dict) -> bool:
    for (name, op), value in terms.items():
        cell = row.get(name)
        if op == "=" and str(cell) != value:
            return False
        if op in (">=", "<=") and (cell is None or not _compare(str(cell)[:10], op, value)):
            return False
    return True


def _compare(cell: str, op: str, value: str) -> bool:
    return cell >= value if op == ">=" else cell <= value
