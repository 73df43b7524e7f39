"""Eastmoney's fund data host, parsed: the market's fund dividend (dt=8) and split/conversion
(dt=9) lists.

Wire format: shared/providers.md section 6. The answers are JavaScript, not JSON::

    var pageinfo =[74, 100, 1];//totalPages-74; countPerPage-100; currentPage-1.
    var jjfh_data=[["000005","嘉实增强信用定期债券","2014-12-24","2014-12-24","0.0212",…]];

They are read as data (each ``var`` statement's value decoded as JSON), never evaluated. The
functions here are pure and raise ``ProviderDataError``; ``fund_data`` does the I/O.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from etfs.event_bounds import event_problem

from ..base import (
    CASH,
    CODE_RULE,
    CONVERSION,
    SPLIT,
    CorporateAction,
    ProviderDataError,
    RowProblem,
    is_security_code,
)
from ..http import json_int
from ..records import source_row

DIVIDENDS = 8  # dt=8: cash distributions, variables jjfh_*
SPLITS = 9  # dt=9: splits and conversions, variables jjcf_*
DATA_VARIABLE = {DIVIDENDS: "jjfh_data", SPLITS: "jjcf_data"}
LIST_NAME = {DIVIDENDS: "fund dividend list (dt=8)", SPLITS: "fund split list (dt=9)"}
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
VAR_RE = re.compile(r"\bvar\s+([A-Za-z_$][\w$]*)\s*=\s*")
# The F10 pages (and some list rows) state cash in words: 每10份派现金0.8000元 is per ten units.
CASH_TEXT_RE = re.compile(r"每\s*(\d*)\s*份[^0-9.+\-−]*([+\-−]?)\s*([0-9]+(?:\.[0-9]+)?)")
NUMBER_RE = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
# "1:2" or "1:2.000000" for a ratio written as old:new units.
RATIO_PAIR_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*[:：]\s*([0-9]+(?:\.[0-9]+)?)$")
SPLIT_WORDS = ("分拆", "拆分")
CONVERSION_WORDS = ("折算", "合并", "折合")
PLACEHOLDERS = {"", "-", "--", "---", "null", "None"}


@dataclass(frozen=True, slots=True)
class ActionPage:
    """One page of a list: its events, rejected rows, and where it stands in the paging."""

    total_pages: int
    page: int
    actions: list[CorporateAction]
    problems: list[RowProblem] = field(default_factory=list)
    raw_rows: int = 0
    source_rows: list = field(default_factory=list)  # as the answer had them, for paging


def parse_js_variables(text: str) -> dict[str, object]:
    """The values of the ``var name = <JSON>;`` statements of a JavaScript answer.

    Statement by statement: comments are skipped, each ``var`` value is decoded by a JSON
    decoder that stops at the value's end (so a fund name holding ``var`` or ``;`` is no
    trouble), and a statement that is not a JSON ``var`` (a function call, say) is left out.
    """
    decoder = json.JSONDecoder(parse_float=Decimal, parse_int=json_int)
    variables: dict[str, object] = {}
    position = 0
    while position < len(text):
        if text[position] in " \t\r\n;":
            position += 1
        elif text.startswith("//", position):
            position = _after(text, "\n", position)
        elif text.startswith("/*", position):
            position = _after(text, "*/", position)
        elif match := VAR_RE.match(text, position):
            try:
                value, position = decoder.raw_decode(text, match.end())
            except json.JSONDecodeError:
                position = _after(text, ";", match.end())
                continue
            variables[match.group(1)] = value
        else:
            position = _after(text, ";", position)
    return variables


def _after(text: str, marker: str, position: int) -> int:
    found = text.find(marker, position)
    return len(text) if found < 0 else found + len(marker)


def parse_action_page(text: str, list_kind: int) -> ActionPage:
    """Parse one page of the dividend (dt=8) or split (dt=9) list."""
    where = LIST_NAME[list_kind]
    variables = parse_js_variables(text)
    total_pages, page = _page_info(variables.get("pageinfo"), where)
    rows = variables.get(DATA_VARIABLE[list_kind])
    if rows is None:
        raise ProviderDataError(f"{where}: no `var {DATA_VARIABLE[list_kind]}` in the answer")
    if not isinstance(rows, list):
        raise ProviderDataError(f"{where}: {DATA_VARIABLE[list_kind]} is not a list")
    parse_row = parse_dividend_row if list_kind == DIVIDENDS else parse_split_row
    actions, problems = [], []
    for row in rows:
        try:
            actions.append(parse_row(row))
        except ProviderDataError as exc:
            code = row[0] if isinstance(row, list) and row and isinstance(row[0], str) else ""
            problems.append(RowProblem(str(exc), code=code, row=_row_text(row)[:300]))
    return ActionPage(total_pages, page, actions, problems, raw_rows=len(rows), source_rows=rows)


def _page_info(value: object, where: str) -> tuple[int, int]:
    """(total pages, this page) from ``pageinfo = [totalPages, countPerPage, currentPage]``."""
    numbers = value if isinstance(value, list) else None
    if (
        not numbers
        or len(numbers) < 3
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers[:3])
    ):
        raise ProviderDataError(f"{where}: pageinfo is {value!r}, expected [pages, size, page]")
    return numbers[0], numbers[2]


def parse_dividend_row(row: object) -> CorporateAction:
    """A dt=8 row: code, name, record date, ex-date, cash per unit (yuan), pay date[, flag]."""
    cells = _cells(row, 5, "dividend row")
    code, name = _code(cells[0], "dividend row"), cells[1].strip()
    where = f"dividend row {code}"
    ex_date = _date(cells[3], where, "ex-date")
    if ex_date is None:
        raise ProviderDataError(f"{where}: no ex-date")
    cash = parse_cash_per_unit(cells[4], where)
    if cash <= 0:
        raise ProviderDataError(f"{where} {ex_date}: cash per unit is {cash}, not positive")
    if problem := event_problem(cash, Decimal(1)):
        raise ProviderDataError(f"{where} {ex_date}: {problem}")
    return CorporateAction(
        code=code,
        ex_date=ex_date,
        kind=CASH,
        cash=cash,
        ratio=Decimal(1),
        name=name,
        record_date=_date(cells[2], where, "record date"),
        pay_date=_date(cells[5], where, "pay date") if len(cells) > 5 else None,
        row=_row_text(row),
    )


def parse_split_row(row: object) -> CorporateAction:
    """A dt=9 row: code, name, date, then the type and the ratio in either order[, flag].

    Public clients disagree on whether the type (份额分拆 / 份额折算) or the ratio comes
    first, so each is recognised by what it says, not by where it stands.
    """
    cells = _cells(row, 5, "split row")
    code, name = _code(cells[0], "split row"), cells[1].strip()
    where = f"split row {code}"
    ex_date = _date(cells[2], where, "split date")
    if ex_date is None:
        raise ProviderDataError(f"{where}: no split date")
    # The two cells after the date; a trailing flag ("1") must not pass for a ratio.
    pair = cells[3:5]
    kinds = [kind for kind in map(split_kind, pair) if kind]
    ratios = [ratio for ratio in map(_ratio_or_none, pair) if ratio]
    if len(kinds) != 1:
        raise ProviderDataError(f"{where} {ex_date}: no split or conversion type in {pair}")
    if len(ratios) != 1:
        raise ProviderDataError(f"{where} {ex_date}: no ratio in {pair}")
    if problem := event_problem(Decimal(0), ratios[0]):
        raise ProviderDataError(f"{where} {ex_date}: {problem}")
    return CorporateAction(
        code=code,
        ex_date=ex_date,
        kind=kinds[0],
        cash=Decimal(0),
        ratio=ratios[0],
        name=name,
        row=_row_text(row),
    )


def split_kind(text: str) -> str | None:
    """``split`` for 份额分拆, ``conversion`` for 份额折算 (or a merge), else None."""
    if any(word in text for word in SPLIT_WORDS):
        return SPLIT
    if any(word in text for word in CONVERSION_WORDS):
        return CONVERSION
    return None


def parse_cash_per_unit(text: object, where: str) -> Decimal:
    """Cash per unit in yuan: ``0.0212``, ``每份派现金0.0212元`` or ``每10份派现金0.8000元``.

    The list gives yuan per unit; the F10 pages' current wording is per ten units, which is
    divided by ten here so that every stored amount is per unit.
    """
    value = str(text).strip() if text is not None else ""
    if NUMBER_RE.match(value):
        return Decimal(value)
    match = CASH_TEXT_RE.search(value)
    if match:
        units = int(match.group(1) or 1)
        if units <= 0:
            raise ProviderDataError(f"{where}: cash {value!r} is per {units} units")
        if match.group(2) in ("-", "−"):
            raise ProviderDataError(f"{where}: cash {value!r} is negative")
        return Decimal(match.group(3)) / units
    raise ProviderDataError(f"{where}: cash per unit {value!r} is not a number")


def _ratio_or_none(text: str) -> Decimal | None:
    """Units after per unit before, from ``2.000000`` or ``1:2``; None for other text."""
    value = text.strip()
    try:
        if NUMBER_RE.match(value):
            ratio = Decimal(value)
        elif match := RATIO_PAIR_RE.match(value):
            ratio = Decimal(match.group(2)) / Decimal(match.group(1))
        else:
            return None
    except (InvalidOperation, ZeroDivisionError):
        return None
    return ratio if ratio > 0 else None


def _cells(row: object, minimum: int, where: str) -> list[str]:
    if not isinstance(row, list) or len(row) < minimum:
        raise ProviderDataError(f"{where}: {_row_text(row)[:120]} has too few cells")
    return [_cell_text(cell) for cell in row]


def _cell_text(cell: object) -> str:
    """A cell as text: "" for None, and for an integer of thousands of digits, which has no
    text in Python 3.11 (the cell is then refused as empty by what reads it)."""
    if cell is None:
        return ""
    try:
        return str(cell)
    except ValueError:
        return ""


def _code(text: str, where: str) -> str:
    code = text.strip()
    if not is_security_code(code):
        raise ProviderDataError(f"{where}: code {text!r} is not {CODE_RULE}")
    return code


def _date(text: str, where: str, name: str) -> dt.date | None:
    value = text.strip()
    if value in PLACEHOLDERS:
        return None
    value = value[:10]
    try:
        if not DATE_RE.match(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ProviderDataError(f"{where}: {name} {text!r} is not a date") from None


def _row_text(row: object) -> str:
    return source_row(row, limit=10_000)
