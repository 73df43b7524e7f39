"""Check what a caller asks a sync to do, before anything is queued.

Pure functions over decoded JSON (dicts, lists, strings, numbers): no database, no clock. What
they need to know about the world (today's date, which ETF codes exist) is passed in, so the
API, the commands and tests share one set of rules. Each problem is a ``ValidationError`` that
names the field at fault, in the caller's terms, and says what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping

from etfs.codes import CODE_RULE, is_security_code
from etfs.models import SyncKind, SyncStatus

from .lists import normalise_exchanges
from .prices import PriceOptions

EARLIEST_YEAR = 1990
MAX_CODES = 2000
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_PAGE = 1_000_000

LIST_FIELDS = ("exchange_codes",)
PRICE_FIELDS = ("start_year", "start", "end", "codes", "full")
# Each picks where a fund's history starts; more than one would leave the choice to chance.
PRICE_START_FIELDS = ("start_year", "start", "full")

KnownCodes = Callable[[Collection[str]], Collection[str]]


class ValidationError(ValueError):
    """One problem with one field of a request."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_list_request(body: object) -> list[str]:
    """The exchanges an ETF list sync should cover, sorted; all of them when none is named."""
    body = _object(body, LIST_FIELDS)
    if "exchange_codes" not in body:
        return normalise_exchanges(None)
    codes = _list_of_strings(body["exchange_codes"], "exchange_codes", "exchange codes")
    if not codes:
        raise ValidationError("exchange_codes", "must not be empty; omit it for both exchanges")
    try:
        return normalise_exchanges(codes)
    except ValueError as exc:
        raise ValidationError("exchange_codes", str(exc)) from None


def parse_price_request(body: object, *, today: dt.date, known_codes: KnownCodes) -> PriceOptions:
    """The options of an ETF price sync; ``known_codes(codes)`` returns the ETF codes that exist."""
    body = _object(body, PRICE_FIELDS)
    chosen = [name for name in PRICE_START_FIELDS if name in body and body[name] is not False]
    if len(chosen) > 1:
        raise ValidationError(chosen[1], f"cannot be combined with {chosen[0]}; give one of them")
    start_year = body.get("start_year")
    if start_year is not None:
        start_year = validate_start_year(_integer(start_year, "start_year"), today)
    start = _date(body.get("start"), "start", today)
    end = _date(body.get("end"), "end", today)
    validate_date_range(start, end)
    full = body.get("full", False)
    if not isinstance(full, bool):
        raise ValidationError("full", "must be true or false")
    codes = validate_codes(body["codes"], known_codes) if "codes" in body else ()
    return PriceOptions(codes=codes, start=start, end=end, start_year=start_year, full=full)


def validate_start_year(year: int, today: dt.date) -> int:
    if not EARLIEST_YEAR <= year <= today.year:
        raise ValidationError("start_year", f"must be a year from {EARLIEST_YEAR} to {today.year}")
    return year


def validate_date_range(start: dt.date | None, end: dt.date | None) -> None:
    if start and end and start > end:
        raise ValidationError("start", f"{start} is after end {end}")


def validate_codes(value: object, known_codes: KnownCodes) -> tuple[str, ...]:
    """Six-digit ETF codes that exist, sorted and without repeats."""
    codes = _list_of_strings(value, "codes", "ETF codes")
    if not codes:
        raise ValidationError("codes", "must not be empty; omit it for every listed ETF")
    if len(codes) > MAX_CODES:
        raise ValidationError("codes", f"at most {MAX_CODES} codes per request")
    malformed = [code for code in codes if not is_security_code(code)]
    if malformed:
        raise ValidationError("codes", f"{_sample(malformed)}: a code is {CODE_RULE}")
    codes = sorted(set(codes))
    unknown = sorted(set(codes) - set(known_codes(codes)))
    if unknown:
        raise ValidationError(
            "codes", f"unknown ETF code(s): {_sample(unknown)} (has the ETF list been synced?)"
        )
    return tuple(codes)


def parse_run_filters(query: Mapping[str, list[str]]) -> dict[str, str]:
    """Filters of the run list (``kind``, ``status``) from a query string's values."""
    filters = {}
    for field, choices in (("kind", SyncKind.values), ("status", SyncStatus.values)):
        value = _single(query, field)
        if value is None:
            continue
        if value not in choices:
            raise ValidationError(field, f"{value!r} is not one of {', '.join(choices)}")
        filters[field] = value
    return filters


def parse_page(query: Mapping[str, list[str]], *, default_size: int, max_size: int):
    """(page, page_size) from a query string; pages count from 1."""
    page = _positive(_single(query, "page"), "page", 1, MAX_PAGE)
    size = _positive(_single(query, "page_size"), "page_size", default_size, max_size)
    return page, size


def reject_unknown_fields(query: Mapping[str, list[str]], allowed: Collection[str]) -> None:
    for field in query:
        if field not in allowed:
            raise ValidationError(field, f"unknown field {field!r}; expected {_choices(allowed)}")


def _object(body: object, fields: Collection[str]) -> dict:
    """The body's fields; a field given as null counts as not given."""
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    reject_unknown_fields(body, fields)
    return {name: value for name, value in body.items() if value is not None}


def _list_of_strings(value: object, field: str, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(field, f"must be a list of {what} (strings)")
    return value


def _integer(value: object, field: str) -> int:
    # bool is an int subclass in Python; true is not a year.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer")
    return value


def _date(value: object, field: str, today: dt.date) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str) or not DATE_PATTERN.fullmatch(value):
        raise ValidationError(field, "must be a date as a string, YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, f"{value} is not a calendar date") from None
    earliest = dt.date(EARLIEST_YEAR, 1, 1)
    if not earliest <= day <= today:
        raise ValidationError(field, f"must be from {earliest} to today ({today})")
    return day


def _single(query: Mapping[str, list[str]], field: str) -> str | None:
    values = query.get(field) or []
    if len(values) > 1:
        raise ValidationError(field, "give it once")
    return values[0] if values else None


def _positive(value: str | None, field: str, default: int, maximum: int) -> int:
    if value is None:
        return default
    # The length check comes first: int() refuses strings of thousands of digits.
    if not (value.isascii() and value.isdigit() and len(value) <= 9 and 1 <= int(value) <= maximum):
        raise ValidationError(field, f"must be a whole number from 1 to {maximum}")
    return int(value)


def _sample(values: list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(value[:20]) for value in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _choices(names: Collection[str]) -> str:
    return ", ".join(sorted(names)) if names else "no fields"
