"""The exchanges' stock lists for the fake exchanges (shared/providers.md section 8).

- SSE ``/sseQuery/commonQuery.do`` (also ``/commonQuery.do``) with
  ``sqlId=COMMON_SSE_CP_GPJCTPZ_GPLB_GP_L``: ``STOCK_TYPE`` 1 (main board A) or 8 (STAR) and
  ``COMPANY_STATUS=2,4,5,7,8`` for listed companies; ``COMPANY_STATUS=3`` the delisted ones,
  B shares among them (``A_STOCK_CODE`` "-"), whatever ``STOCK_TYPE`` says. Rows in ``result``
  and ``pageHelp.data``, paged by ``pageHelp.pageNo``; JSONP with ``jsonCallBack``; 403 without
  the SSE ``Referer``.
- SZSE ``/api/report/ShowReport/data`` ``CATALOGID=1110`` tab1 (A shares; ``bk``, ``agdm``,
  ``agjc``, ``agssrq``, ``agzgb``, ``agltgb``) and ``CATALOGID=1793_ssgs`` tab2 (terminated
  listings; ``zqdm``, ``zqjc``, ``ssrq``, ``zzrq``) beside a tab1 of suspended ones: 20 rows a
  page, codes and names in HTML anchors, each tab paged by its own key (``tab2PAGENO``, or
  ``PAGENO`` with ``TABKEY=tab2``); a tab asked with another tab's key repeats its first page.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from .eastmoney_stocks import CHINEXT, PROGRAM_DELISTED_ON, STAR, program_stocks

SSE_STOCK_SQL = "COMMON_SSE_CP_GPJCTPZ_GPLB_GP_L"
SZSE_PAGE_SIZE = 20


@dataclass
class ExchangeStock:
    code: str
    exchange: str  # XSHG or XSHE
    name: str
    list_date: dt.date = dt.date(2010, 1, 4)
    delist_date: dt.date | None = None  # set: on the delisted list
    stock_type: int = 1  # SSE: 1 main board A, 8 STAR, 2 B share (delisted list only)
    board: str = "主板"  # SZSE: 主板 or 创业板


def sse_stock_answer(stocks: list[ExchangeStock], request: Request, page_size: int) -> Response:
    delisted = request.args.get("COMPANY_STATUS") == "3"
    if delisted:
        chosen = [stock for stock in stocks if stock.delist_date is not None]
    else:
        types = {int(value) for value in request.args.get("STOCK_TYPE", "1").split(",")}
        chosen = [
            stock for stock in stocks if stock.delist_date is None and stock.stock_type in types
        ]
    chosen.sort(key=lambda stock: stock.code)
    size = min(int(request.args.get("pageHelp.pageSize", 25)), page_size)
    page = int(request.args.get("pageHelp.pageNo", 1))
    rows = [_sse_row(stock) for stock in chosen[(page - 1) * size : page * size]]
    body = {
        "actionErrors": [],
        "result": rows,
        "pageHelp": {
            "data": rows,
            "pageNo": page,
            "pageSize": size,
            "pageCount": max(1, -(-len(chosen) // size)),
            "total": len(chosen),
        },
        "isPagination": "true",
    }
    text = json.dumps(body, ensure_ascii=False)
    callback = request.args.get("jsonCallBack")
    if callback:
        return Response(f"{callback}({text})", content_type="text/javascript;charset=utf-8")
    return Response(text, content_type="application/json;charset=utf-8")


def _sse_row(stock: ExchangeStock) -> dict:
    b_share = stock.stock_type == 2
    return {
        "A_STOCK_CODE": "-" if b_share else stock.code,
        "B_STOCK_CODE": stock.code if b_share else "-",
        "COMPANY_CODE": stock.code,
        "COMPANY_ABBR": stock.name,
        "SEC_NAME_CN": stock.name,
        "FULL_NAME": f"{stock.name}股份有限公司",
        "LIST_DATE": stock.list_date.strftime("%Y%m%d"),
        "DELIST_DATE": stock.delist_date.strftime("%Y%m%d") if stock.delist_date else "-",
        "LIST_BOARD": "2" if stock.stock_type == 8 else "1",
    }


def szse_stock_answer(stocks: list[ExchangeStock], request: Request) -> Response | None:
    catalog = request.args.get("CATALOGID")
    if catalog == "1110":
        listed = sorted((s for s in stocks if s.delist_date is None), key=lambda s: s.code)
        cols = {
            "bk": "板块",
            "agdm": "A股代码",
            "agjc": "A股简称",
            "agssrq": "A股上市日期",
            "agzgb": "A股总股本",
            "agltgb": "A股流通股本",
            "sshymc": "所属行业",
        }
        tabs = [("tab1", cols, [_szse_listed_row(stock) for stock in listed])]
    elif catalog == "1793_ssgs":
        gone = sorted((s for s in stocks if s.delist_date is not None), key=lambda s: s.code)
        suspended = {"zqdm": "证券代码", "zqjc": "证券简称", "ssrq": "上市日期", "ztrq": "暂停日期"}
        terminated = {
            "zqdm": "证券代码",
            "zqjc": "证券简称",
            "ssrq": "上市日期",
            "zzrq": "终止日期",
        }
        tabs = [
            ("tab1", suspended, []),
            ("tab2", terminated, [_szse_terminated_row(stock) for stock in gone]),
        ]
    else:
        return None
    asked_tab = request.args.get("TABKEY", "tab1")
    answer = []
    for key, cols, rows in tabs:
        page = int(request.args.get(f"{key}PAGENO") or _plain_page(request, key, asked_tab))
        pages = max(1, -(-len(rows) // SZSE_PAGE_SIZE))
        chunk = rows[(page - 1) * SZSE_PAGE_SIZE : page * SZSE_PAGE_SIZE]
        answer.append(_tab(catalog, key, cols, chunk, page, pages, len(rows)))
    return Response(
        json.dumps(answer, ensure_ascii=False), content_type="application/json;charset=utf-8"
    )


def _plain_page(request: Request, key: str, asked_tab: str) -> str:
    """``PAGENO`` pages the tab ``TABKEY`` names; every other tab stays on its first page."""
    return request.args.get("PAGENO", "1") if key == asked_tab else "1"


def _anchor(text: str) -> str:
    return f"<a href='/certificate/individual/index.html?code={text}'><u>{text}</u></a>"


def _szse_listed_row(stock: ExchangeStock) -> dict:
    return {
        "bk": stock.board,
        "agdm": _anchor(stock.code),
        "agjc": f"<a href='/disclosure/listed/notice/index.html?stock={stock.code}'>"
        f"<u>{stock.name}</u></a>",
        "agssrq": stock.list_date.isoformat(),
        "agzgb": "1,940,591.82",
        "agltgb": "1,940,560.13",
        "sshymc": "J 金融业",
    }


def _szse_terminated_row(stock: ExchangeStock) -> dict:
    return {
        "zqdm": stock.code,
        "zqjc": stock.name,
        "ssrq": stock.list_date.isoformat(),
        "zzrq": stock.delist_date.isoformat(),
    }


def _tab(catalog, key, cols, rows, page, page_count, records) -> dict:
    return {
        "metadata": {
            "catalogid": catalog,
            "name": "股票列表" if catalog == "1110" else "暂停/终止上市",
            "subname": "2024-03-04",
            "tabkey": key,
            "pagesize": SZSE_PAGE_SIZE,
            "pageno": page,
            "pagecount": page_count,
            "recordcount": records,
            "cols": cols,
        },
        "data": rows,
        "error": None,
    }


def sample_exchange_stocks(extra_szse: int = 0) -> list[ExchangeStock]:
    """Each kind of row the parsers must read: SSE main and STAR, SZSE main and ChiNext, a
    delisted A share on each exchange and a delisted SSE B share (to skip); ``extra_szse``
    more SZSE main-board stocks make its 20-row pages add up."""
    stocks = [
        ExchangeStock("600000", "XSHG", "浦发银行", dt.date(1999, 11, 10)),
        ExchangeStock("688001", "XSHG", "华兴源创", dt.date(2019, 7, 22), stock_type=8),
        ExchangeStock("600087", "XSHG", "退市长油", dt.date(1997, 6, 12), dt.date(2014, 6, 5)),
        ExchangeStock(
            "900950", "XSHG", "新城B股", dt.date(1997, 10, 16), dt.date(2015, 11, 23), stock_type=2
        ),
        ExchangeStock("000001", "XSHE", "平安银行", dt.date(1991, 4, 3)),
        ExchangeStock("300001", "XSHE", "特锐德", dt.date(2009, 10, 30), board="创业板"),
        ExchangeStock("000003", "XSHE", "PT金田A", dt.date(1991, 7, 3), dt.date(2002, 6, 14)),
    ]
    stocks += [
        ExchangeStock(f"{2000 + index:06d}", "XSHE", f"深股{index}", dt.date(2008, 1, 2))
        for index in range(extra_szse)
    ]
    return stocks


def program_exchange_stocks(count: int) -> list[ExchangeStock]:
    """The exchanges' lists of the runnable fakes' ``--stocks N`` market
    (tests/fakes/eastmoney_stocks.program_stocks): the listed stocks with their boards, the
    two delisted ones on the delisted lists."""
    # Only codes, names and listing dates matter here: one day of bars is enough.
    day = dt.date(2024, 1, 2)
    listed, delisted = program_stocks(count, day, day)
    stocks = [
        ExchangeStock(
            stock.code,
            "XSHG" if stock.market == 1 else "XSHE",
            stock.name,
            stock.list_date,
            stock_type=8 if stock.board == STAR else 1,
            board="创业板" if stock.board == CHINEXT else "主板",
        )
        for stock in listed
    ]
    if delisted:
        sse, szse = delisted
        stocks += [
            ExchangeStock(sse.code, "XSHG", sse.name, sse.list_date, PROGRAM_DELISTED_ON),
            ExchangeStock(szse.code, "XSHE", szse.name, szse.list_date, dt.date(2002, 6, 14)),
        ]
    return stocks
