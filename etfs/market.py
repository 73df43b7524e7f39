"""The market's fixed facts, with no Django import: its time zone and the shipped calendar file.

Pure, so that code outside a configured Django (the fake Eastmoney run as a program, the
benchmarks) can use them; etfs.sync.calendar builds the calendar's answers on top.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
# SSE/SZSE trading days 1990-12-19 .. 2026-12-31 as shipped by akshare (calendar.json): the
# offline seed of TradingDay (migration 0010).
CALENDAR_FILE = Path(__file__).resolve().parent / "data" / "trading_calendar.json"


@cache
def shipped_trading_days() -> tuple[dt.date, ...]:
    """The trading days of the shipped file, sorted."""
    days = json.loads(CALENDAR_FILE.read_text())
    return tuple(sorted({dt.datetime.strptime(day, "%Y%m%d").date() for day in days}))
