"""Which day a price run is for, asking the sources when the calendar does not know the day.

The calendar table answers most days. A weekday after its newest row is unknown; then two
sources can tell: the list's trade dates (``f297`` of the rows that have settled) and the SSE
Composite index's k-lines. The rule (shared/DESIGN.md, "Time"):

- a day becomes *open* when the index shows it, or when a clear majority of the settled list
  rows carry it (one row never decides: a single row dated a holiday is a fault of that row);
- a day becomes *closed* only when the list and the index agree (the rows are dated the index's
  newest trading day and the index has no bar for the day), or when the index alone has no bar
  for it while it shows a later trading day;
- when the list cannot decide (a failed pass, no settled trade date, no clear majority), or the
  calendar misses more than today (a holiday nobody recorded while the workers were down), the
  index is asked, once;
- when the two contradict each other nothing is recorded: the run stops and says which disagree.

The after-close run (``from_list``) reads the list anyway, so it decides an unknown today this
way. Every other run reads the index through the calendar sync's refresh and takes the days up
to the newest trading day it then knows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max

from etfs.models import TradingDay
from etfs.providers.base import DayBars, ProviderBlocked, ProviderError, TradingDaySource

from .calendar import (
    UnknownDay,
    final_cutoff,
    known_through,
    last_final_day,
    record_closed_days,
    record_trading_days,
    shanghai_now,
)
from .calendar_sync import refresh_calendar
from .runs.problems import Problem
from .sources import provider_for

# The share of settled list rows that must carry a trade date for the list to say the market
# traded that day. On a trading day all but the suspended funds carry it.
CLEAR_MAJORITY = 2 / 3


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
        return FinalDay(last_final_day(now))
    except UnknownDay as unknown:
        today = shanghai_now(now).date()
        known = _newest_open_before(today)
        if list_pass is not None and unknown.day == today and known is not None:
            return _decide_today(recorder, list_pass, today, known)
        return _decide_by_index(recorder, now)


def list_verdict(fetched: DayBars) -> tuple[dt.date | None, str]:
    """The trade date a clear majority of the settled list rows carry, or None and why not."""
    if fetched.error is not None or not fetched.complete:
        return None, f"the list pass failed: {fetched.error or 'the pass was incomplete'}"
    settled = sum(fetched.settled_dates.values())
    if not settled:
        return None, "no list row has a settled trade date (f297)"
    date, count = max(fetched.settled_dates.items(), key=lambda item: item[1])
    if count < CLEAR_MAJORITY * settled:
        spread = ", ".join(f"{day}: {n}" for day, n in sorted(fetched.settled_dates.items()))
        return None, f"no trade date is carried by a clear majority of the list rows ({spread})"
    return date, ""


def _decide_today(recorder, list_pass, today: dt.date, known: dt.date) -> FinalDay:
    """Decide an unknown today (after its close) from the list and, if needed, the index."""
    unknown = _weekdays_after(known_through() or known, today)
    fetched = list_pass.day_bars(today, on_page=recorder.stop_between_pages)
    carried, why_not = list_verdict(fetched)
    if carried == today and unknown == [today]:
        record_trading_days([today], source="etf list", run=recorder.run)
        return FinalDay(today, known, day_bars=fetched)
    undecided = f"cannot tell whether {today} is a trading day"
    index = provider_for(TradingDaySource)
    try:
        shown = [day for day in index.trading_days(known, today) if known < day <= today]
    except ProviderError as exc:
        blocked = exc if isinstance(exc, ProviderBlocked) else None
        listed = why_not or f"the list's rows are dated {carried}"
        return FinalDay(
            None,
            known,
            failed=f"{undecided}: {listed}, and the index could not be read: {exc}",
            blocked=blocked or _list_blocked(fetched),
            blocked_source=index.name if blocked else list_pass.name,
        )
    run = recorder.run
    newest = max([known, *shown])
    record_trading_days(shown, source="index", run=run)
    # Weekdays before a day the index shows, without a bar of their own: closed (index alone).
    record_closed_days([day for day in unknown if day < newest and day not in shown], "index", run)
    if today in shown:
        return FinalDay(today, max(day for day in [known, *shown] if day < today), fetched)
    if carried == newest:  # the list and the index agree: no trading since ``newest``
        record_closed_days([day for day in unknown if day > newest], "etf list+index", run)
        _warn_of_rows_after(recorder, fetched, newest)
        return FinalDay(
            None,
            newest,
            note=f"no trading on {today}: the source's newest bars are "
            f"from {newest} (the list and the index agree)",
        )
    if carried is None:
        failed = f"{undecided}: {why_not}, and the index has no bar for it yet"
    else:
        failed = (
            f"{undecided}: the list's rows are dated {carried}, the index's newest bar is "
            f"{newest}: the two sources disagree; nothing recorded"
        )
    return FinalDay(
        None, newest, failed=failed, blocked=_list_blocked(fetched), blocked_source=list_pass.name
    )


def _decide_by_index(recorder, now) -> FinalDay:
    """Learn the missing days from the index, then ask the calendar again; days it still does
    not know are left undecided, and the run takes the trading days up to the newest it knows
    to be final (the index may be late with today; nothing is recorded from one source)."""
    source = provider_for(TradingDaySource)
    try:
        update = refresh_calendar(source, now, run=recorder.run)
    except ProviderBlocked as exc:
        return FinalDay(
            None,
            failed=f"the calendar could not be brought up to date: {exc}",
            blocked=exc,
            blocked_source=source.name,
        )
    except ProviderError as exc:
        recorder.record(Problem.warning(f"the calendar could not be brought up to date: {exc}"))
    else:
        for warning in update.warnings():
            recorder.record(Problem.warning(warning))
    try:
        return FinalDay(last_final_day(now))
    except UnknownDay as unknown:
        newest = _newest_open_before(final_cutoff(now) + dt.timedelta(days=1))
        if newest is None:
            return FinalDay(None, failed=str(unknown))
        return FinalDay(newest, note=f"{unknown.day} is not decided yet: bars up to {newest}")


def _newest_open_before(day: dt.date) -> dt.date | None:
    return TradingDay.objects.open().filter(date__lt=day).aggregate(last=Max("date"))["last"]


def _weekdays_after(start: dt.date, end: dt.date) -> list[dt.date]:
    """The weekdays in (start, end]."""
    days = (start + dt.timedelta(days=offset) for offset in range(1, (end - start).days + 1))
    return [day for day in days if day.weekday() < 5]


def _list_blocked(fetched: DayBars) -> ProviderBlocked | None:
    return fetched.error if isinstance(fetched.error, ProviderBlocked) else None


def _warn_of_rows_after(recorder, fetched: DayBars, newest: dt.date) -> None:
    """Rows dated after the market's last trading day are faults of those rows: said, not used."""
    for day, count in sorted(fetched.settled_dates.items()):
        if day > newest:
            recorder.record(
                Problem.warning(
                    f"{count} list row(s) dated {day}, a day without trading (the other rows and "
                    f"the index say {newest}): not taken"
                )
            )
