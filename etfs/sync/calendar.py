"""The A-share trading calendar (the TradingDay table) and the market clock (Asia/Shanghai).

Every question about days is answered from the table. A weekday after the newest day the
table knows is *unknown*: the exchanges announce each year's holidays only in December, and no
rule tells a holiday from a trading day, so the functions raise ``UnknownDay`` instead of
guessing, and the code that needs the answer asks the source (the list's trade date, or the
index k-lines through etfs/sync/calendar_sync.py). Weekends are never trading days (makeup
Saturdays are working days for offices only: shared/providers.md section 5).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Max, Q

from etfs.market import SHANGHAI, shipped_trading_days
from etfs.models import CalendarRevision, TradingDay

from .freshness import recount_missing_days

# Trading ends at 15:00; the source needs a little while to publish the final values.
MARKET_CLOSE = dt.time(15, 0)
SETTLED_AFTER = dt.time(15, 30)
EARLIEST_TRADING_DAY = dt.date(1990, 12, 19)


class UnknownDay(LookupError):
    """The calendar does not know yet whether ``day`` is a trading day."""

    def __init__(self, day: dt.date, known_through: dt.date | None):
        self.day = day
        self.known_through = known_through
        super().__init__(
            f"the trading calendar does not know {day} yet (it knows days up to "
            f"{known_through or 'none'}): run `manage.py sync_calendar`"
        )


def _is_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


def known_through() -> dt.date | None:
    """The newest day the table decides (open or closed); later weekdays are unknown."""
    return TradingDay.objects.aggregate(last=Max("date"))["last"]


def is_trading_day(day: dt.date) -> bool:
    """True on an exchange trading day; raises UnknownDay for a weekday the table cannot tell."""
    if _is_weekend(day):
        return False
    row = TradingDay.objects.aggregate(
        last=Max("date"), open=Max("date", filter=Q(date=day, is_open=True))
    )
    if row["last"] is None or day > row["last"]:
        raise UnknownDay(day, row["last"])
    return row["open"] is not None


def previous_trading_day(day: dt.date) -> dt.date:
    """The trading day before ``day``; UnknownDay if a weekday in between is unknown."""
    row = TradingDay.objects.aggregate(
        last=Max("date"), previous=Max("date", filter=Q(date__lt=day, is_open=True))
    )
    last = row["last"]
    candidate = day - dt.timedelta(days=1)
    while last is None or candidate > last:
        if not _is_weekend(candidate):
            raise UnknownDay(candidate, last)
        candidate -= dt.timedelta(days=1)
    if row["previous"] is None:
        raise UnknownDay(candidate, last)
    return row["previous"]


def trading_days_between(start: dt.date, end: dt.date) -> int:
    """Trading days in (start, end], counted by the table (``end`` must be known)."""
    if end > start and not _is_weekend(end):
        is_trading_day(end)  # raises when the table cannot tell
    return TradingDay.objects.open().filter(date__gt=start, date__lte=end).count()


def shanghai_now(now: dt.datetime | None = None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(SHANGHAI)


def final_cutoff(now: dt.datetime | None = None) -> dt.date:
    """The newest date whose bars can be final at ``now``, trading day or not (the clock only)."""
    local = shanghai_now(now)
    if local.time() >= SETTLED_AFTER:
        return local.date()
    return local.date() - dt.timedelta(days=1)


def last_final_day(now: dt.datetime | None = None) -> dt.date:
    """The newest trading day whose bar is final at ``now``.

    Today counts only once the market has closed and settled; before that the day's values
    are still moving (providers.md section 3). UnknownDay when the table cannot tell.
    """
    cutoff = final_cutoff(now)
    if is_trading_day(cutoff):
        return cutoff
    return previous_trading_day(cutoff)


def newest_known_final_day(now: dt.datetime | None = None) -> dt.date | None:
    """The last final day if the calendar can tell, else the newest trading day it knows to
    be final: for showing freshness (the admin, a plan), never for deciding what to fetch."""
    try:
        return last_final_day(now)
    except UnknownDay:
        days = TradingDay.objects.open().filter(date__lte=final_cutoff(now))
        return days.aggregate(last=Max("date"))["last"]


def record_trading_days(days, source: str, run=None) -> int:
    """Store days the source showed trading; a day the table held closed (a closed row, or a
    weekday inside known history without one) is corrected and the correction kept as a
    CalendarRevision of ``run``. Returns how many days are new or corrected."""
    days = sorted(set(days))
    if not days:
        return 0
    through = known_through()
    existing = dict(TradingDay.objects.filter(date__in=days).values_list("date", "is_open"))
    TradingDay.objects.bulk_create(
        [TradingDay(date=day, source=source) for day in days if day not in existing],
        ignore_conflicts=True,
    )
    corrected = [day for day, is_open in existing.items() if not is_open]
    TradingDay.objects.filter(date__in=corrected).update(is_open=True, source=source)
    held_closed = corrected + [
        day for day in days if day not in existing and through is not None and day < through
    ]
    _keep_revisions(held_closed, was_open=False, source=source, run=run)
    recount_missing_days([day for day in days if day not in existing] + corrected)
    return len(days) - len(existing) + len(corrected)


def record_closed_days(days, source: str, run=None) -> None:
    """Remember weekdays the sources showed closed, so the calendar knows them from now on.

    Beyond the newest trading day a closed day needs a row (later weekdays are unknown); a day
    held open is corrected, kept as a CalendarRevision of ``run``.
    """
    days = sorted(set(days))
    existing = dict(TradingDay.objects.filter(date__in=days).values_list("date", "is_open"))
    TradingDay.objects.bulk_create(
        [TradingDay(date=day, is_open=False, source=source) for day in days if day not in existing],
        ignore_conflicts=True,
    )
    corrected = [day for day, is_open in existing.items() if is_open]
    TradingDay.objects.filter(date__in=corrected).update(is_open=False, source=source)
    _keep_revisions(corrected, was_open=True, source=source, run=run)
    recount_missing_days(corrected)


def record_closed_day(day: dt.date, source: str) -> None:
    record_closed_days([day], source)


def _keep_revisions(days, *, was_open: bool, source: str, run) -> None:
    CalendarRevision.objects.bulk_create(
        [
            CalendarRevision(
                date=day, was_open=was_open, is_open=not was_open, source=source, run=run
            )
            for day in sorted(days)
        ]
    )


def seed_from_shipped_file(using: str = "default") -> int:
    """Fill an empty table from the shipped file, as migration 0010 does (tests after a flush)."""
    trading_days = TradingDay.objects.using(using)
    if trading_days.exists():
        return 0
    days = shipped_trading_days()
    trading_days.bulk_create(
        [TradingDay(date=day, is_open=True, source="shipped") for day in days], batch_size=2000
    )
    return len(days)
