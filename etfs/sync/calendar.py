"""The A-share trading calendar and the market clock (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Trading ends at 15:00; the source needs a little while to publish the final values.
MARKET_CLOSE = dt.time(15, 0)
SETTLED_AFTER = dt.time(15, 30)
# SSE/SZSE trading days 1990-12-19 .. 2026-12-31 as shipped by akshare (calendar.json).
CALENDAR_FILE = Path(__file__).resolve().parent.parent / "data" / "trading_calendar.json"


@cache
def _calendar() -> tuple[frozenset[dt.date], dt.date]:
    days = json.loads(CALENDAR_FILE.read_text())
    parsed = frozenset(dt.datetime.strptime(day, "%Y%m%d").date() for day in days)
    return parsed, max(parsed)


def is_trading_day(day: dt.date) -> bool:
    """True on an exchange trading day; beyond the shipped calendar, on weekdays."""
    days, last_known = _calendar()
    if day > last_known:
        return day.weekday() < 5
    return day in days


def previous_trading_day(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while not is_trading_day(day):
        day -= dt.timedelta(days=1)
    return day


def trading_days_between(start: dt.date, end: dt.date) -> int:
    """Trading days in (start, end]."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_trading_day(day)
    return count


def shanghai_now(now: dt.datetime | None = None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(SHANGHAI)


def last_final_day(now: dt.datetime | None = None) -> dt.date:
    """The newest trading day whose bar is final at ``now``.

    Today counts only once the market has closed and settled; before that the day's values
    are still moving (providers.md section 3).
    """
    local = shanghai_now(now)
    today = local.date()
    if is_trading_day(today) and local.time() >= SETTLED_AFTER:
        return today
    return previous_trading_day(today)
