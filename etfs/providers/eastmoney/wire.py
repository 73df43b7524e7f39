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
    """A number cell as an exact Decimal; None for the source's placeholders ("-")."""
    if value is None or (isinstance(value, str) and value.strip() in PLACEHOLDERS):
        return None
    if isinstance(value, bool):
        raise ProviderDataError(f"{where}: {name} is a boolean")
    if isinstance(value, float):  # only when a caller decoded JSON without Decimal
        if not math.isfinite(value):
            raise ProviderDataError(f"{where}: {name} is {value}")
        value = repr(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise ProviderDataError(f"{where}: {name} {value!r} is not a number") from None
    if not number.is_finite():
        raise ProviderDataError(f"{where}: {name} is {value!r}")
    return number


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
