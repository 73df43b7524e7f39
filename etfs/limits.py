"""What a sync may be asked for: one definition of each limit, checked alike by every door.

The API's schemas (``etfs/api_schemas.py``) and the commands' arguments both call these checks,
so a limit is written once. Each raises ``ValueError`` saying what is wrong in words that fit any
door; the door adds the name of its field (``start`` in JSON, ``--start`` on the command line).
Pure functions: what they need from the world (today's date, which ETF codes exist) is passed in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable

from etfs.codes import CODE_RULE, is_security_code
from etfs.sync.lists import normalise_exchanges

EARLIEST_YEAR = 1990
EARLIEST_DAY = dt.date(EARLIEST_YEAR, 1, 1)
MAX_CODES = 2000
# Python 3.11's fromisoformat also takes 20240101 and 2024-W01; a day is written one way here.
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Input quoted back in a message is cut to this many characters, so that an answer does not grow
# with the request (a 2.4 MB field name was once echoed twice).
ECHO_LIMIT = 40

KnownCodes = Callable[[Collection[str]], Collection[str]]


def cut(text: str, limit: int = ECHO_LIMIT) -> str:
    """The caller's input cut short, for an error message."""
    return text if len(text) <= limit else text[:limit] + "…"


def check_start_year(year: int, today: dt.date) -> int:
    if not EARLIEST_YEAR <= year <= today.year:
        raise ValueError(f"must be a year from {EARLIEST_YEAR} to {today.year}")
    return year


def parse_day(text: str, today: dt.date) -> dt.date:
    """A day written YYYY-MM-DD, from 1990-01-01 to today (no source has bars outside that)."""
    if not DATE_PATTERN.fullmatch(text):
        raise ValueError(f"{cut(text)!r} is not a date written YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text} is not a calendar date") from None
    if not EARLIEST_DAY <= day <= today:
        raise ValueError(f"must be from {EARLIEST_DAY} to today ({today})")
    return day


def check_date_range(start: dt.date | None, end: dt.date | None) -> None:
    if start and end and start > end:
        raise ValueError(f"{start} is after end {end}")


def check_exchanges(codes: Iterable[str]) -> list[str]:
    """Exchange codes in any case, sorted; an empty list is refused rather than read as all."""
    codes = list(codes)
    if not codes:
        raise ValueError("must not be empty; omit it for both exchanges")
    return normalise_exchanges(cut(code) for code in codes)


def check_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """Security codes (etfs.codes), at most MAX_CODES, sorted and without repeats."""
    codes = list(codes)
    if not codes:
        raise ValueError("must not be empty; omit it for every listed ETF")
    if len(codes) > MAX_CODES:
        raise ValueError(f"at most {MAX_CODES} codes per request")
    malformed = [code for code in codes if not is_security_code(code)]
    if malformed:
        raise ValueError(f"{sample(malformed)}: a code is {CODE_RULE}")
    return tuple(sorted(set(codes)))


def check_known_codes(codes: tuple[str, ...], known_codes: KnownCodes) -> tuple[str, ...]:
    """The codes, if ``known_codes(codes)`` (the ETF codes that exist) has every one."""
    unknown = sorted(set(codes) - set(known_codes(codes)))
    if unknown:
        raise ValueError(f"unknown ETF code(s): {sample(unknown)} (has the ETF list been synced?)")
    return codes


def sample(values: list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(cut(value, 20)) for value in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")
