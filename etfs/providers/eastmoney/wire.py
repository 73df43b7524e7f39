"""What every Eastmoney push2/push2his answer shares: market ids, the envelope, number cells.

Wire formats: shared/providers.md sections 1 and 2. Pure functions that raise
``ProviderDataError`` naming what was wrong and where.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation

from ..base import XSHE, XSHG, ProviderDataError, ProviderError
from ..http import BODY_EXCERPT

# f13 of the list and the first part of a secid: the source's own market ids.
MARKET_TO_EXCHANGE = {1: XSHG, 0: XSHE}
EXCHANGE_TO_MARKET = {exchange: market for market, exchange in MARKET_TO_EXCHANGE.items()}
PLACEHOLDERS = {"-", "--", "", "null", "None", "NaN"}
SHARES_PER_LOT = 100
# The decimal exponents a number cell may have: 1e-12 .. 1e20 (amounts reach 1e12 yuan).
MIN_EXPONENT, MAX_EXPONENT = -12, 20


def envelope_data(payload: object, where: str) -> object:
    """The ``data`` of an answer whose ``rc`` is 0; a ProviderDataError for anything else."""
    if not isinstance(payload, dict):
        raise ProviderDataError(f"{where}: answer is {type(payload).__name__}, expected an object")
    if "data" not in payload:
        raise ProviderDataError(f"{where}: answer has no 'data' field")
    rc = payload.get("rc", 0)
    if rc != 0:
        raise ProviderDataError(f"{where}: the source answered with error code rc={rc}")
    return payload["data"]


def decimal_cell(value: object, where: str, name: str) -> Decimal | None:
    """A number cell as an exact Decimal; None for the source's placeholders ("-").

    Any JSON value may come: anything but a number or a numeric string is a ProviderDataError
    naming the cell, and so is a number far outside any price, volume or amount (kept out
    before any arithmetic: an exponent of a million makes int() build a million digits).
    """
    if value is None or (isinstance(value, str) and value.strip() in PLACEHOLDERS):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ProviderDataError(f"{where}: {name} {shown(value)} is not a number")
    if isinstance(value, int) and not -(10**MAX_EXPONENT) < value < 10**MAX_EXPONENT:
        raise ProviderDataError(f"{where}: {name} {shown(value)} is out of any plausible range")
    if isinstance(value, float):  # only when a caller decoded JSON without Decimal
        if not math.isfinite(value):
            raise ProviderDataError(f"{where}: {name} is {value}")
        value = repr(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise ProviderDataError(f"{where}: {name} {shown(value)} is not a number") from None
    if not number.is_finite():
        raise ProviderDataError(f"{where}: {name} is {shown(value)}")
    if number and not MIN_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        raise ProviderDataError(f"{where}: {name} {number:.3E} is out of any plausible range")
    return number


def shown(value: object, limit: int = 60) -> str:
    """A bad value as a message shows it: its repr, cut (a value may be a whole document; an
    integer of thousands of digits has no repr at all in Python 3.11)."""
    try:
        text = repr(value)
    except ValueError:
        return f"(a {type(value).__name__} holding a number too long to show)"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def price_cell(value: object, where: str, name: str) -> Decimal | None:
    """A price; zero counts as "no trade" (None), a negative price is an error."""
    number = decimal_cell(value, where, name)
    if number is None or number > 0:
        return number
    if number == 0:
        return None
    raise ProviderDataError(f"{where}: {name} is negative ({number})")


def lots_to_shares(lots: Decimal, where: str) -> int:
    if lots != lots.to_integral_value():
        raise ProviderDataError(f"{where}: volume {lots} is not a whole number of lots")
    return int(lots) * SHARES_PER_LOT


def with_answer(error: ProviderError, payload: object) -> ProviderError:
    """Give a parse error the (decoded) answer it is about, so that the run can keep it."""
    if isinstance(error, ProviderDataError) and error.body is None and payload is not None:
        text = json.dumps(payload, ensure_ascii=False, default=_json_number)
        error.body = text[:BODY_EXCERPT]
    return error


def _json_number(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else str(value)
