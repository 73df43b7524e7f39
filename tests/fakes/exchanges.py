"""A local HTTP server that answers like the exchanges' fund lists (shared/providers.md §7).

One server for both hosts (the settings point ETFSYNC_SSE_QUERY_URL and ETFSYNC_SZSE_URL at it):
- SSE ``/commonSoaQuery.do?sqlId=FUND_LIST``: JSONP when ``jsonCallBack`` is sent (JSON
  otherwise), rows under both ``result`` and ``pageHelp.data``, paged by ``pageHelp.pageNo``,
  ``listingDate`` as ``YYYYMMDD`` or ``YYYY-MM-DD``; without the SSE ``Referer`` it answers
  403, as the real host does.
- SZSE ``/api/report/ShowReport/data?SHOWTYPE=JSON&CATALOGID=1945|1105``: a JSON array of
  tabs (the list tab after another tab unless told otherwise), HTML anchors in the cells,
  paged by ``tab1PAGENO``.
Faults: ``down`` (HTTP 503) or ``ban`` (403) per exchange, until ``recover()``.

    python -m tests.fakes.exchanges --port 8766 [--funds 40] [--stocks 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import threading
from dataclasses import dataclass

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .eastmoney import make_funds
from .exchange_stocks import (
    ExchangeStock,
    program_exchange_stocks,
    sse_stock_answer,
    szse_stock_answer,
)


@dataclass
class ExchangeFund:
    code: str
    exchange: str  # XSHG or XSHE
    name: str
    list_date: dt.date | None = dt.date(2020, 1, 6)
    sub_class: str = "01"  # SSE
    index_code: str = "000300"  # SSE only
    index_name: str = "沪深300指数"
    company: str = "华泰柏瑞基金管理有限公司"
    fund_type: str = "ETF"  # SZSE 1105
    investment_type: str = "股票基金"  # SZSE 1105


def sample_funds() -> list[ExchangeFund]:
    """Two SSE and two SZSE funds, one of each kind the parsers must read."""
    return [
        ExchangeFund("510300", "XSHG", "沪深300ETF", dt.date(2012, 5, 28), "03"),
        ExchangeFund(
            "513500",
            "XSHG",
            "标普500ETF",
            dt.date(2014, 1, 15),
            "04",
            "SPX",
            "标普500指数",
            "博时基金管理有限公司",
        ),
        ExchangeFund(
            "159915",
            "XSHE",
            "创业板ETF",
            dt.date(2011, 12, 9),
            index_name="创业板指数",
            company="易方达基金管理有限公司",
        ),
        ExchangeFund(
            "159937",
            "XSHE",
            "博时黄金ETF",
            dt.date(2014, 8, 13),
            index_name="黄金现货实盘合约",
            company="博时基金管理有限公司",
            investment_type="商品基金",
        ),
    ]


def program_exchange_funds(count: int) -> list[ExchangeFund]:
    """The exchanges' fund lists of tests.fakes.eastmoney's ``--funds N`` market (make_funds's
    codes and names), so that both programs list the same funds."""
    return [
        ExchangeFund(fund.code, "XSHG" if fund.market == 1 else "XSHE", fund.name)
        for fund in make_funds(count, dt.date(2024, 1, 2), dt.date(2024, 1, 2))
    ]


class FakeExchanges:
    def __init__(
        self, funds: list[ExchangeFund] | None = None, stocks: list[ExchangeStock] | None = None
    ):
        self.funds = list(sample_funds() if funds is None else funds)
        # The stock lists, listed and delisted (tests/fakes/exchange_stocks.py).
        self.stocks = list(stocks or [])
        self.sse_stock_page_size = 25
        self.sse_page_size = 2  # small pages, so that paging is exercised
        self.szse_page_size = 2
        self.sse_date_format = "%Y%m%d"
        self.list_tab_first = False
        # The key of the SZSE fund list's tab: it is paged by its own key (tab2PAGENO when it
        # is tab2); the other tab gets the other key.
        self.szse_list_tabkey = "tab1"
        # Exchanges whose list ignores the page asked for: page 1 every time, 500 pages claimed.
        self.ignores_paging: set[str] = set()
        self.faults: dict[str, str] = {}  # "XSHG"/"XSHE" -> "down" | "ban"
        self.requests: list[Request] = []
        self._server = None
        self._thread = None

    def fail(self, exchange: str, fault: str) -> None:
        self.faults[exchange] = fault

    def recover(self) -> None:
        self.faults.clear()

    def of(self, exchange: str) -> list[ExchangeFund]:
        return sorted((f for f in self.funds if f.exchange == exchange), key=lambda f: f.code)

    # -- server --
    def start(self, port: int = 0) -> str:
        self._server = make_server("127.0.0.1", port, self.wsgi, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append(request)
        if request.path == "/commonSoaQuery.do":
            response = self._fault("XSHG") or self.sse(request)
        elif request.path in ("/sseQuery/commonQuery.do", "/commonQuery.do"):
            response = self._fault("XSHG") or self.sse_stocks(request)
        elif request.path == "/api/report/ShowReport/data":
            response = self._fault("XSHE") or self.szse(request)
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)

    def _fault(self, exchange: str) -> Response | None:
        fault = self.faults.get(exchange)
        if fault == "down":
            return Response("service unavailable", status=503)
        if fault == "ban":
            return Response("<html>访问被拒绝</html>", status=403, content_type="text/html")
        return None

    # -- SSE --
    def sse(self, request: Request) -> Response:
        if "sse.com.cn" not in request.headers.get("Referer", ""):
            return Response("<html>403 Forbidden</html>", status=403, content_type="text/html")
        if request.args.get("sqlId") != "FUND_LIST":
            return Response("{}", content_type="application/json")
        funds = self.of("XSHG")
        size = min(int(request.args.get("pageHelp.pageSize", 25)), self.sse_page_size)
        page = 1 if "XSHG" in self.ignores_paging else int(request.args.get("pageHelp.pageNo", 1))
        page_count = 500 if "XSHG" in self.ignores_paging else max(1, -(-len(funds) // size))
        rows = [self.sse_row(fund) for fund in funds[(page - 1) * size : page * size]]
        body = {
            "actionErrors": [],
            "result": rows,
            "pageHelp": {
                "data": rows,
                "pageNo": page,
                "pageSize": size,
                "pageCount": page_count,
                "total": len(funds),
            },
            "isPagination": "true",
        }
        text = json.dumps(body, ensure_ascii=False)
        callback = request.args.get("jsonCallBack")
        if callback:
            return Response(f"{callback}({text})", content_type="text/javascript;charset=utf-8")
        return Response(text, content_type="application/json;charset=utf-8")

    def sse_row(self, fund: ExchangeFund) -> dict:
        return {
            "listingDate": fund.list_date.strftime(self.sse_date_format) if fund.list_date else "",
            "LAW_FIRM": "",
            "CONTACT_MOBILE": "",
            "subClass": fund.sub_class,
            "fundManager": "柳军",
            "companyName": fund.company,
            "INDEX_NAME": fund.index_name,
            "fundAbbr": fund.name[:8],
            "fundType": "00",
            "fundCode": fund.code,
            "INDEX_CODE": fund.index_code,
            "secNameFull": fund.name,
            "TRUSTEE_NAME": "中国工商银行股份有限公司",
        }

    def sse_stocks(self, request: Request) -> Response:
        if "sse.com.cn" not in request.headers.get("Referer", ""):
            return Response("<html>403 Forbidden</html>", status=403, content_type="text/html")
        if request.args.get("sqlId") != "COMMON_SSE_CP_GPJCTPZ_GPLB_GP_L":
            return Response("{}", content_type="application/json")
        stocks = [stock for stock in self.stocks if stock.exchange == "XSHG"]
        return sse_stock_answer(stocks, request, self.sse_stock_page_size)

    # -- SZSE --
    def szse(self, request: Request) -> Response:
        catalog = request.args.get("CATALOGID")
        if catalog in ("1110", "1793_ssgs"):
            return szse_stock_answer([s for s in self.stocks if s.exchange == "XSHE"], request)
        key = self.szse_list_tabkey
        other_key = "tab1" if key != "tab1" else "tab2"
        page = int(request.args.get(f"{key}PAGENO", 1))
        if "XSHE" in self.ignores_paging:
            page = 1
        funds = self.of("XSHE")
        size = min(int(request.args.get(f"{key}PAGESIZE", 20)), self.szse_page_size)
        chunk = funds[(page - 1) * size : page * size]
        if catalog == "1945":
            cols = {
                "sys_key": "证券代码",
                "kzjcurl": "证券简称",
                "nhzs": "拟合指数",
                "dqgm": "当前规模<br>（万份）",
                "glrmc": "基金管理人",
            }
            rows = [self.szse_list_row(fund) for fund in chunk]
        elif catalog == "1105":
            cols = {
                "sys_key": "基金代码",
                "kzjcurl": "基金简称",
                "jjlb": "基金类别",
                "tzlb": "投资类别",
                "ssrq": "上市日期",
                "glrmc": "基金管理人",
            }
            rows = [self.szse_type_row(fund) for fund in chunk]
        else:
            return Response("[]", content_type="application/json")
        page_count = 500 if "XSHE" in self.ignores_paging else max(1, -(-len(funds) // size))
        tab = _tab(catalog, key, cols, rows, page, page_count, len(funds))
        other = _tab(
            catalog,
            other_key,
            {"jzrq": "净值日期", "jjdm": "基金代码", "jjjz": "单位净值"},
            [{"jzrq": "2024-03-04", "jjdm": "159915", "jjjz": "2.0500"}],
            1,
            1,
            1,
        )
        tabs = [tab, other] if self.list_tab_first else [other, tab]
        return Response(
            json.dumps(tabs, ensure_ascii=False), content_type="application/json;charset=utf-8"
        )

    @staticmethod
    def szse_list_row(fund: ExchangeFund) -> dict:
        return {
            "sys_key": _code_anchor(fund.code),
            "kzjcurl": f"<a href='/disclosure/fund/notice/index.html?stock={fund.code}' "
            f"title='点击简称查询公告'><u>{fund.name}</u></a> "
            f"<a href='javascript:void(0);' encode-open='/x?txt={fund.code}'></a>",
            "nhzs": f"{fund.index_name} ",
            "dqgm": "877,189.37",
            "glrmc": fund.company,
        }

    @staticmethod
    def szse_type_row(fund: ExchangeFund) -> dict:
        return {
            "sys_key": _code_anchor(fund.code),
            "kzjcurl": f"<u>{fund.name}</u>",
            "jjlb": fund.fund_type,
            "tzlb": fund.investment_type,
            "ssrq": fund.list_date.isoformat() if fund.list_date else "",
            "glrmc": fund.company,
        }


def _code_anchor(code: str) -> str:
    return f"<a href='/market/trend/index.html?code={code}'><u>{code}</u></a>"


def _tab(catalog, key, cols, rows, page, page_count, records) -> dict:
    return {
        "metadata": {
            "catalogid": catalog,
            "name": "ETF列表",
            "subname": "2024-03-04",
            "tabkey": key,
            "pagesize": len(rows),
            "pageno": page,
            "pagecount": page_count,
            "recordcount": records,
            "cols": cols,
        },
        "data": rows,
        "error": None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--funds",
        type=int,
        help="the fund lists of tests.fakes.eastmoney's --funds N market (default: four samples)",
    )
    parser.add_argument(
        "--stocks",
        type=int,
        default=0,
        help="the stock lists of tests.fakes.eastmoney's --stocks market of this size",
    )
    args = parser.parse_args()
    funds = None if args.funds is None else program_exchange_funds(args.funds)
    server = FakeExchanges(funds=funds, stocks=program_exchange_stocks(args.stocks))
    server.start(args.port)
    stocks = f" and the lists of {args.stocks} stocks" if args.stocks else ""
    print(f"fake SSE and SZSE fund lists{stocks} at {server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
