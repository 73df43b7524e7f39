"""Eastmoney push2his daily k-lines: the one request builder, and the parsers of its answers.

Bars of a fund, the trading calendar (the SSE Composite index's k-lines) and the source's own
backward-adjusted closes (the cross-check of our factors) are one endpoint asked three ways;
``kline_params`` builds every one of those requests. Wire format: shared/providers.md
sections 2 and 5. Parsers are pure and raise ``ProviderDataError`` naming what was wrong.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from operator import truediv

from ..base import (
    Bar,
    BarRows,
    KlineSeries,
    ProviderDataError,
    RowProblem,
    bar_sanity_problem,
    drop_duplicate_dates,
    surely_pass_bar_checks,
    unit_warnings,
)
from .wire import (
    EXCHANGE_TO_MARKET,
    MARKET_TO_EXCHANGE,
    SHARES_PER_LOT,
    decimal_cell,
    envelope_data,
    price_cell,
)

KLINE_PATH = "/api/qt/stock/kline/get"
KLINE_TOKEN = "7eea3edcaed734bea9cbfc24409ed989"
KLINE_FIELDS = "f51,f52,f53,f54,f55,f56,f57,f58,f59,f60,f61"
DAILY = 101
# fqt: the source's adjustment of prices (volume and amount are never adjusted).
UNADJUSTED, FORWARD_ADJUSTED, BACKWARD_ADJUSTED = 0, 1, 2
# The SSE Composite index has a daily bar on every SSE/SZSE trading day and on no other day
# (providers.md section 5): its k-line dates are the trading calendar.
CALENDAR_INDEX_CODE = "000001"


def kline_params(
    code: str, exchange: str, start: dt.date, end: dt.date, *, adjustment: int = UNADJUSTED
) -> dict[str, object]:
    """The query of one security's daily k-lines over [start, end] (sent to KLINE_PATH)."""
    return {
        # The secid's market comes from the stored exchange, never from the code prefix.
        "secid": f"{EXCHANGE_TO_MARKET[exchange]}.{code}",
        "klt": DAILY,
        "fqt": adjustment,
        "beg": start.strftime("%Y%m%d"),
        "end": end.strftime("%Y%m%d"),
        "fields1": "f1,f2,f3,f4,f5,f6",
        "fields2": KLINE_FIELDS,
        "ut": KLINE_TOKEN,
    }


def parse_kline_response(
    payload: object, *, code: str, exchange: str, today: dt.date | None = None
) -> KlineSeries:
    """Parse ``/api/qt/stock/kline/get`` for one fund (unadjusted, ``fqt=0``).

    Bars that fail a sanity check are left out and reported as problems; the rest are kept.
    """
    where = f"k-lines {code}"
    data = envelope_data(payload, where)
    if data is None:
        raise ProviderDataError(f"{where}: the source knows no such security (data is null)")
    if not isinstance(data, dict):
        raise ProviderDataError(f"{where}: 'data' is {type(data).__name__}, expected an object")
    if str(data.get("code", code)) != code:
        raise ProviderDataError(f"{where}: the answer is for code {data.get('code')!r}")
    market = data.get("market")
    answered = MARKET_TO_EXCHANGE.get(market) if type(market) is int else None
    if market is not None and answered not in (None, exchange):
        raise ProviderDataError(f"{where}: the answer is for market {market!r}, not {exchange}")
    if "klines" not in data:
        raise ProviderDataError(f"{where}: 'data' has no 'klines' (not the answer we asked for)")
    lines = data["klines"]
    if lines is None:
        lines = []
    if not isinstance(lines, list):
        raise ProviderDataError(f"{where}: 'klines' is {type(lines).__name__}, expected a list")
    fast = _plain_klines(lines, today)
    if fast is not None:
        return KlineSeries(code=code, exchange=exchange, bars=fast, problems=[])
    bars, problems = [], []
    for line in lines:
        try:
            bar = parse_kline(line, where)
        except ProviderDataError as exc:
            problems.append(RowProblem(str(exc), code=code, row=str(line)[:300]))
            continue
        reason = bar_sanity_problem(bar, today)
        if reason:
            problems.append(RowProblem(f"{where} {bar.trade_date}: {reason}", code, str(line)))
            continue
        if warning := _fractional_lots_warning(line, bar, code, where):
            problems.append(warning)
        bars.append(bar)
    bars, duplicates = drop_duplicate_dates(bars, code, where)
    problems.extend(duplicates)
    problems.extend(unit_warnings(bars, code, where))
    return KlineSeries(
        code=code, exchange=exchange, bars=BarRows.from_bars(bars), problems=problems
    )


# The first seven fields of a k-line in the form the source writes them: an ISO date, four
# prices of at most 7 + 4 digits, whole lots, an amount. Possessive quantifiers (Python 3.11):
# no backtracking into a number, a third less time a line.
_PLAIN_FIELDS = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:,[0-9]{1,7}+(?:\.[0-9]{1,4}+)?+){4},[0-9]{1,15}+,"
    r"[0-9]{1,18}+(?:\.[0-9]{1,4}+)?+"
)


@functools.lru_cache(maxsize=8)
def _plain_kline(fields: int):
    """A whole plain k-line of exactly ``fields`` fields (11 as asked: f51-f61)."""
    return re.compile(_PLAIN_FIELDS + f"(?:,[^,]*+){{{fields - 7}}}").fullmatch


def _plain_klines(lines: list, today: dt.date | None) -> BarRows | None:
    """The usual answer, at a fraction of parse_kline's cost: every line plain text that
    surely passes the checks becomes a BarRows line without a Decimal being made (the
    database parses the numbers). None as soon as a line needs a closer look: the caller then
    parses the answer line by line, with the exact checks and their messages.

    Column by column: every line is matched whole, with as many fields as the first, so the
    answer splits into columns in one go, and the columns are checked in loops that run in C
    (map, min, max). Line by line, a full history of 969 lines took 2.1 ms, a third of a price
    sync's Python (bench/profile_sync.py)."""
    if not lines:
        return BarRows([])
    if type(lines[0]) is not str:
        return None
    fields = lines[0].count(",") + 1
    if fields < 7:
        return None
    try:
        if not all(map(_plain_kline(fields), lines)):
            return None
    except TypeError:  # a line that is not text
        return None
    cells = ",".join(lines).split(",")
    days, opens, closes, highs, lows, lots, amounts = (cells[index::fields] for index in range(7))
    first, last = min(days), max(days)
    if today is not None and last > today.isoformat():
        return None
    if len(set(days)) != len(days) or not all(map(_is_calendar_day, days)):
        return None  # a date twice, or one no calendar has: the exact path says which
    volumes = [count * SHARES_PER_LOT for count in map(int, lots)]
    numbers = [list(map(float, column)) for column in (opens, highs, lows, closes, amounts)]
    if not surely_pass_bar_checks(*numbers[:4], volumes, numbers[4]):
        return None
    columns = (days, opens, highs, lows, closes, map(str, volumes), amounts)
    rows = list(map("\t".join, zip(*columns, strict=True)))
    in_order = days == sorted(days)
    return BarRows(rows, first, last, largest_move(numbers[0], numbers[3]) if in_order else None)


def largest_move(opens: list[float], closes: list[float]) -> float:
    """The largest |open / previous close - 1| or |close / previous close - 1| of bars in date
    order (0 for fewer than two bars)."""
    if len(closes) < 2:
        return 0.0
    before = closes[:-1]
    ratios = [*map(truediv, opens[1:], before), *map(truediv, closes[1:], before)]
    return max(max(ratios) - 1, 1 - min(ratios))


@functools.lru_cache(maxsize=16384)
def _is_calendar_day(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def parse_index_days(payload: object, *, code: str = CALENDAR_INDEX_CODE) -> list[dt.date]:
    """The dates of an index's k-line answer, sorted: the days the market traded.

    An empty ``klines`` is a fault, not "no trading": throttled gateways answer HTTP 200 with
    ``dktotal: 0, klines: []`` (providers.md section 5). Callers ask for a window that holds
    known trading days, so a true answer is never empty. A malformed line fails the whole
    answer: a calendar with a hole would call a trading day closed.
    """
    where = f"index k-lines {code}"
    data = envelope_data(payload, where)
    if not isinstance(data, dict):
        raise ProviderDataError(f"{where}: 'data' is {data!r}, expected an object")
    if str(data.get("code", code)) != code:
        raise ProviderDataError(f"{where}: the answer is for code {data.get('code')!r}")
    lines = data.get("klines")
    if not isinstance(lines, list):
        raise ProviderDataError(f"{where}: 'klines' is {lines!r}, expected a list")
    if not lines:
        raise ProviderDataError(
            f"{where}: the answer has no rows (dktotal {data.get('dktotal')!r}), which a "
            "throttled gateway sends; not taken as days without trading"
        )
    days = {parse_kline(line, where).trade_date for line in lines}
    if len(days) != len(lines):
        raise ProviderDataError(f"{where}: a date appears more than once in one answer")
    return sorted(days)


def parse_kline(line: object, where: str) -> Bar:
    if not isinstance(line, str):
        raise ProviderDataError(f"{where}: k-line is {type(line).__name__}, expected a string")
    parts = line.split(",")
    if len(parts) < 7:
        raise ProviderDataError(f"{where}: k-line has {len(parts)} fields, expected 11: {line!r}")
    try:
        trade_date = dt.date.fromisoformat(parts[0])
    except ValueError:
        raise ProviderDataError(f"{where}: bad date {parts[0]!r}") from None
    at = f"{where} {parts[0]}"
    # f51..f57: date, open, close, high, low, volume (lots), amount (yuan) -- close comes second.
    values = {}
    for name, text in zip(("open", "close", "high", "low"), parts[1:5], strict=True):
        value = price_cell(text, at, name)
        if value is None:
            raise ProviderDataError(f"{at}: {name} is a placeholder {text!r}")
        values[name] = value
    lots = decimal_cell(parts[5], at, "volume")
    amount = decimal_cell(parts[6], at, "amount")
    if lots is None or amount is None:
        raise ProviderDataError(f"{at}: volume or amount is a placeholder")
    return Bar(
        trade_date=trade_date,
        volume=lots_to_whole_shares(lots),
        amount=amount,
        **values,
    )


def lots_to_whole_shares(lots: Decimal) -> int:
    """Shares from lots of 100, rounded half up to a whole share (a k-line's volume in lots
    is sometimes written with decimals; the bar is kept, with a warning from the caller)."""
    return int((lots * SHARES_PER_LOT).to_integral_value(rounding=ROUND_HALF_UP))


def _fractional_lots_warning(line: str, bar: Bar, code: str, where: str) -> RowProblem | None:
    lots = Decimal(line.split(",")[5])
    if lots == lots.to_integral_value():
        return None
    return RowProblem(
        f"{where} {bar.trade_date}: volume {lots} is not a whole number of lots; stored as "
        f"{bar.volume} shares (rounded half up)",
        code=code,
        row=line[:300],
        fatal=False,
        kind="a volume in fractions of a lot",
    )


def parse_adjusted_closes(payload: object, code: str) -> dict[dt.date, Decimal]:
    """Date -> close of a k-line answer (used for the source's backward-adjusted series)."""
    where = f"adjusted k-lines {code}"
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("klines"), list):
        raise ProviderDataError(f"{where}: no k-lines in the answer")
    closes = {}
    for line in data["klines"]:
        parts = str(line).split(",")
        try:
            closes[dt.date.fromisoformat(parts[0])] = Decimal(parts[2])
        except (IndexError, ValueError, InvalidOperation):
            raise ProviderDataError(f"{where}: bad k-line {str(line)[:80]!r}") from None
    return closes
