"""Which day a price run is for, asking the source when the calendar does not know the day.

The calendar table answers most days. A weekday after its newest row is unknown; then:
- the after-close run (``from_list``) on an unknown today reads the list first (it needs that
  pass anyway) and decides by the rows' trade date (``f297``): rows dated today on a complete
  pass mean today traded; rows dated the previous trading day mean it did not, and the day is
  recorded closed, without a single k-line request;
- every other run reads the index k-lines (the calendar sync's refresh) and asks again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from etfs.providers.base import DayBars, ProviderBlocked, ProviderError, TradingDaySource

from .calendar import (
    UnknownDay,
    final_cutoff,
    last_final_day,
    previous_trading_day,
    record_closed_day,
    record_trading_days,
    shanghai_now,
)
from .calendar_sync import refresh_calendar
from .sources import provider_for


@dataclass
class FinalDay:
    """The run's last final day, or why there is none to fetch (``final`` None)."""

    final: dt.date | None
    previous: dt.date | None = None  # the trading day before ``final`` (before today), if asked
    day_bars: DayBars | None = None  # the list pass read to decide, for the run to reuse
    note: str = ""  # e.g. "no trading on 2027-01-01: ..."
    failed: str = ""  # why the day could not be decided
    blocked: ProviderBlocked | None = None
    blocked_source: str = ""


def decide_final_day(recorder, options, list_pass, now: dt.datetime | None) -> FinalDay:
    """``list_pass`` is the ListPassBarSource of an after-close run (None for other runs)."""
    try:
        return _known(last_final_day(now))
    except UnknownDay as unknown:
        today = shanghai_now(now).date()
        if list_pass is not None and unknown.day == today:
            return _decide_by_list(recorder, list_pass, now, today)
        return _decide_by_index(recorder, now)


def _known(day: dt.date) -> FinalDay:
    return FinalDay(day)


def _decide_by_list(recorder, list_pass, now, today: dt.date) -> FinalDay:
    try:
        previous = previous_trading_day(today)
    except UnknownDay:  # the calendar is behind by more than today: learn from the index
        return _decide_by_index(recorder, now)
    fetched = list_pass.day_bars(today, on_page=lambda *_: recorder.beat())
    undecided = f"cannot tell whether {today} is a trading day"
    if fetched.error is not None or not fetched.complete:
        blocked = fetched.error if isinstance(fetched.error, ProviderBlocked) else None
        reason = fetched.error or "the pass was incomplete"
        return FinalDay(
            None,
            previous,
            failed=f"{undecided}: the list pass failed: {reason}",
            blocked=blocked,
            blocked_source=list_pass.name,
        )
    newest = fetched.newest_trade_date
    if newest == today:
        record_trading_days([today], source="etf list")
        return FinalDay(today, previous, day_bars=fetched)
    if newest == previous:
        record_closed_day(today, source="etf list")
        note = f"no trading on {today}: the source's newest bars are from {previous}"
        return FinalDay(None, previous, note=note)
    return FinalDay(
        None,
        previous,
        failed=f"{undecided}: the list's newest trade date is {newest}, the calendar's last "
        f"trading day {previous}",
    )


def _decide_by_index(recorder, now) -> FinalDay:
    """Learn the missing days from the index, then ask the calendar again."""
    source = provider_for(TradingDaySource)
    try:
        refresh_calendar(source, now)
    except ProviderBlocked as exc:
        return FinalDay(
            None,
            failed=f"the calendar could not be brought up to date: {exc}",
            blocked=exc,
            blocked_source=source.name,
        )
    except ProviderError as exc:
        recorder.problem(f"the calendar could not be brought up to date: {exc}", severity="warning")
    try:
        return _known(last_final_day(now))
    except UnknownDay as unknown:
        if unknown.day != final_cutoff(now):
            return FinalDay(None, failed=str(unknown))
    # Today has settled but the index shows no bar for it (a holiday, or the index is late):
    # the run takes the days up to the previous trading day, which are certainly final.
    try:
        previous = previous_trading_day(final_cutoff(now))
    except UnknownDay as unknown:
        return FinalDay(None, failed=str(unknown))
    return _known(previous)
