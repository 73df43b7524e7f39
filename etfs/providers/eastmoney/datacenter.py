"""Eastmoney's datacenter reports: stock dividends and bonus shares (RPT_SHAREBONUS_DET), rights
issues (RPT_IPO_ALLOTMENT) and the daily suspension snapshot (RPT_CUSTOM_SUSPEND_DATA_INTERFACE).

Wire format: shared/providers.md section 8. One endpoint, ``/api/data/v1/get``, answers every
report in one envelope: ``{"result": {"pages", "data": [...], "count"}, "success": true,
"code": 0}``; no rows is ``code`` 9201 "返回数据为空" with ``result`` null (an empty answer, not
a fault); a bad report name is ``code`` 9501. Every ratio of the event reports is **per 10
shares**; stored events are per share (etfs/event_bounds.py bounds them). The parsers are pure
and raise ``ProviderDataError``; ``fetch_report`` pages politely and stops when a page repeats.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from etfs.event_bounds import event_problem

from ..base import (
    BONUS,
    CAPITALISATION,
    CASH,
    RIGHTS,
    CorporateAction,
    ProviderDataError,
    ProviderError,
    RowProblem,
    Suspension,
    is_security_code,
)
from ..paging import PageGuard

DATACENTER_PATH = "/api/data/v1/get"
BONUS_REPORT = "RPT_SHAREBONUS_DET"
RIGHTS_REPORT = "RPT_IPO_ALLOTMENT"
SUSPENSION_REPORT = "RPT_CUSTOM_SUSPEND_DATA_INTERFACE"
EMPTY_ANSWER = 9201  # "返回数据为空": no rows match
PAGE_SIZE = 500
# A bound on the paging whatever the answer claims (a year of dividends is about 10 pages).
MAX_PAGES = 200
PER_TEN = Decimal(10)
SUFFIX_TO_EXCHANGE = {"SH": "XSHG", "SZ": "XSHE"}


def report_params(report: str, filter_: str, page: int, sort_column: str) -> dict:
    return {
        "reportName": report,
        "columns": "ALL",
        "filter": filter_,
        "pageSize": PAGE_SIZE,
        "pageNumber": page,
        "sortColumns": sort_column,
        "sortTypes": -1,
        "source": "WEB",
        "client": "WEB",
    }


def parse_report_page(payload: object, report: str) -> tuple[int, list[dict]]:
    """(pages, rows) of one page of a report; an empty answer is (0, [])."""
    if not isinstance(payload, dict):
        raise ProviderDataError(f"{report}: the answer is not a JSON object")
    code = payload.get("code")
    if code == EMPTY_ANSWER:
        return 0, []
    if code != 0 or payload.get("success") is not True:
        message = str(payload.get("message", ""))[:200]
        raise ProviderDataError(f"{report}: the source answered code {code!r}: {message}")
    result = payload.get("result")
    rows = result.get("data") if isinstance(result, dict) else None
    pages = result.get("pages") if isinstance(result, dict) else None
    if not isinstance(rows, list) or not isinstance(pages, int) or isinstance(pages, bool):
        raise ProviderDataError(f"{report}: 'result' has no 'data' list and 'pages' count")
    return pages, rows


def fetch_report(
    get_page: Callable[[int], object],
    report: str,
    on_page: Callable[[int, int], None] | None = None,
) -> tuple[list[dict], int, ProviderError | None]:
    """Every row of a report, page by page, the number of requests it took, and the error that
    stopped it (the rows before it are kept for the caller to store).

    Stops at the last page the answer claims, at a page without rows, or at a page that brings
    nothing new; a page that repeats the previous one is a paging fault (etfs.providers.paging:
    a source that ignores ``pageNumber`` and claims 500 pages costs two requests, not 500).
    """
    rows: list[dict] = []
    guard = PageGuard(report)
    page, requests = 1, 0
    while page <= MAX_PAGES:
        try:
            pages, found = parse_report_page(get_page(page), report)
            requests += 1
            rows.extend(guard.fresh(found))
        except ProviderError as exc:
            return rows, requests, exc
        if on_page:
            on_page(page, pages)
        if page >= pages or guard.exhausted:
            break
        page += 1
    return rows, requests, None


# --- events ----------------------------------------------------------------------------------


def parse_bonus_row(row: object) -> list[CorporateAction]:
    """A RPT_SHAREBONUS_DET row -> its cash, bonus and capitalisation events (per share).

    A row without an ex-date is a plan not carried out: no event ([]). ``BONUS_IT_RATIO`` is
    the sum of ``BONUS_RATIO`` and ``IT_RATIO``: the parts are used when the row has them, the
    sum only when it has neither part (then as bonus shares), never both.
    """
    cells = _object(row, BONUS_REPORT)
    code, exchange = _security(cells, BONUS_REPORT)
    where = f"{BONUS_REPORT} {code}"
    ex_date = _date(cells.get("EX_DIVIDEND_DATE"), where, "EX_DIVIDEND_DATE")
    if ex_date is None:
        return []
    cash = _number(cells.get("PRETAX_BONUS_RMB"), where, "PRETAX_BONUS_RMB")
    bonus = _number(cells.get("BONUS_RATIO"), where, "BONUS_RATIO")
    capitalisation = _number(cells.get("IT_RATIO"), where, "IT_RATIO")
    if bonus is None and capitalisation is None:
        bonus = _number(cells.get("BONUS_IT_RATIO"), where, "BONUS_IT_RATIO")
    common = {
        "code": code,
        "exchange": exchange,
        "ex_date": ex_date,
        "name": str(cells.get("SECURITY_NAME_ABBR") or ""),
        "record_date": _date(cells.get("EQUITY_RECORD_DATE"), where, "EQUITY_RECORD_DATE"),
        "row": _row_text(row),
    }
    events = []
    if cash:
        events.append(CorporateAction(kind=CASH, cash=cash / PER_TEN, **common))
    for kind, per_ten in ((BONUS, bonus), (CAPITALISATION, capitalisation)):
        if per_ten:
            events.append(CorporateAction(kind=kind, ratio=1 + per_ten / PER_TEN, **common))
    for event in events:
        if problem := event_problem(event.cash, event.ratio):
            raise ProviderDataError(f"{where} {ex_date}: {event.kind}: {problem}")
    return events


def parse_rights_row(row: object) -> CorporateAction | None:
    """A RPT_IPO_ALLOTMENT row -> a rights issue (shares per share held, price per share).

    Its ex-date is the trading day after the record date (the service reads the calendar):
    the event carries the record date, and ``ex_date`` only when the row gives one.
    None for a row without a record date (a plan).
    """
    cells = _object(row, RIGHTS_REPORT)
    code, exchange = _security(cells, RIGHTS_REPORT)
    where = f"{RIGHTS_REPORT} {code}"
    record_date = _date(cells.get("EQUITY_RECORD_DATE"), where, "EQUITY_RECORD_DATE")
    ex_date = _date(cells.get("EX_DIVIDEND_DATE"), where, "EX_DIVIDEND_DATE")
    if record_date is None and ex_date is None:
        return None
    per_ten = _number(cells.get("PLACING_RATIO"), where, "PLACING_RATIO")
    price = _number(cells.get("ISSUE_PRICE"), where, "ISSUE_PRICE")
    if not per_ten or not price or per_ten < 0 or price < 0:
        raise ProviderDataError(f"{where}: PLACING_RATIO {per_ten} or ISSUE_PRICE {price} missing")
    event = CorporateAction(
        code=code,
        exchange=exchange,
        ex_date=ex_date,  # None: the trading day after the record date, read by the service
        kind=RIGHTS,
        ratio=1 + per_ten / PER_TEN,
        rights_price=price,
        name=str(cells.get("SECURITY_NAME_ABBR") or ""),
        record_date=record_date,
        row=_row_text(row),
    )
    if problem := event_problem(event.cash, event.ratio, event.rights_price):
        raise ProviderDataError(f"{where} {record_date}: rights: {problem}")
    return event


def parse_event_rows(rows: list, report: str):
    """Events and rejected rows of a page of either event report; plans are left out."""
    events, problems, plans = [], [], 0
    for row in rows:
        try:
            parsed = parse_bonus_row(row) if report == BONUS_REPORT else parse_rights_row(row)
        except ProviderDataError as exc:
            code = row.get("SECURITY_CODE", "") if isinstance(row, dict) else ""
            problems.append(RowProblem(str(exc), code=str(code)[:20], row=_row_text(row)[:300]))
            continue
        if not parsed:
            plans += 1
        events.extend(parsed if isinstance(parsed, list) else [parsed] if parsed else [])
    return events, problems, plans


# --- suspensions ------------------------------------------------------------------------------


def parse_suspension_row(row: object) -> Suspension:
    cells = _object(row, SUSPENSION_REPORT)
    code = str(cells.get("SECURITY_CODE") or "").strip()
    if not is_security_code(code):
        raise ProviderDataError(f"{SUSPENSION_REPORT}: SECURITY_CODE {code!r} is not a code")
    where = f"{SUSPENSION_REPORT} {code}"
    start = _date(cells.get("SUSPEND_START_DATE"), where, "SUSPEND_START_DATE")
    if start is None:
        raise ProviderDataError(f"{where}: no SUSPEND_START_DATE")
    end = _date(cells.get("SUSPEND_END_DATE"), where, "SUSPEND_END_DATE")
    if end is None and "一天" in str(cells.get("SUSPEND_EXPIRE") or ""):
        end = start  # 停牌一天: suspended for that day
    if end is not None and end < start:
        raise ProviderDataError(f"{where}: suspension ends {end} before it starts {start}")
    market = str(cells.get("TRADE_MARKET") or "")
    return Suspension(
        code=code,
        start=start,
        end=end,
        reason=str(cells.get("SUSPEND_REASON") or "")[:200],
        name=str(cells.get("SECURITY_NAME_ABBR") or ""),
        exchange="XSHG" if "上" in market else "XSHE" if "深" in market else "",
        expected_resume=_date(cells.get("PREDICT_RESUME_DATE"), where, "PREDICT_RESUME_DATE"),
        row=_row_text(row),
    )


# --- cells ------------------------------------------------------------------------------------


def _object(row: object, report: str) -> dict:
    if not isinstance(row, dict):
        raise ProviderDataError(f"{report}: a row is {type(row).__name__}, not an object")
    return row


def _security(cells: dict, report: str) -> tuple[str, str]:
    code = str(cells.get("SECURITY_CODE") or "").strip()
    if not is_security_code(code):
        raise ProviderDataError(f"{report}: SECURITY_CODE {code!r} is not a code")
    suffix = str(cells.get("SECUCODE") or "").rpartition(".")[2].upper()
    return code, SUFFIX_TO_EXCHANGE.get(suffix, "")


def _date(value: object, where: str, name: str) -> dt.date | None:
    if value in (None, "", "-"):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ProviderDataError(f"{where}: {name} {value!r} is not a date") from None


def _number(value: object, where: str, name: str) -> Decimal | None:
    if value in (None, "", "-"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ProviderDataError(f"{where}: {name} {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ProviderDataError(f"{where}: {name} {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ProviderDataError(f"{where}: {name} {value!r} is not a number of shares or yuan")
    return number


def _row_text(row: object) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)
