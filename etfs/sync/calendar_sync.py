"""Keep the trading calendar from the market itself: the SSE Composite index's daily k-lines.

The exchanges announce a year's holidays only in December and no package knows them earlier
(shared/providers.md section 5), so the calendar learns each trading day from the index, which
has a bar on every trading day and on no other. Incremental: from the newest known trading
day minus a look-back, through the k-line endpoint and HTTP session of the price sync.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Max

from etfs.models import SyncKind, SyncRun, SyncStatus, SyncTrigger, TradingDay
from etfs.providers.base import ProviderBlocked, ProviderError, TradingDaySource

from .calendar import EARLIEST_TRADING_DAY, final_cutoff, record_trading_days
from .cooldown import active_cooldown, describe, start_cooldown
from .runs import RunRecorder, run_sync
from .sources import provider_for, record_passed_over

# An index answer may stop at about 1,000 rows (providers.md section 5): a full page means
# "ask again from the day after its last row".
INDEX_PAGE_ROWS = 1000


@dataclass
class CalendarUpdate:
    """What one read of the index taught the calendar."""

    fetched: list[dt.date] = field(default_factory=list)
    learned: int = 0
    doubtful: list[dt.date] = field(default_factory=list)  # held open, but no index bar

    @property
    def newest(self) -> dt.date | None:
        return self.fetched[-1] if self.fetched else None


def refresh_calendar(source: TradingDaySource, now: dt.datetime | None = None) -> CalendarUpdate:
    """Read the index from the newest known trading day minus the look-back; store its days.

    Never a date after the last day that can be final at ``now`` (the day in progress has a
    bar too). Raises ProviderError (ProviderDataError for an empty answer) like any fetch.
    """
    cutoff = final_cutoff(now)
    newest_open = TradingDay.objects.open().aggregate(last=Max("date"))["last"]
    start = (newest_open or EARLIEST_TRADING_DAY) - dt.timedelta(
        days=settings.ETFSYNC_CALENDAR_LOOKBACK_DAYS
    )
    update = CalendarUpdate()
    if start > cutoff:
        return update
    update.fetched = _index_days(source, start, cutoff)
    update.learned = record_trading_days(update.fetched, source="index")
    if update.fetched:
        held_open = TradingDay.objects.open().filter(date__range=(start, update.newest))
        seen = set(update.fetched)
        update.doubtful = [
            day for day in held_open.values_list("date", flat=True) if day not in seen
        ]
    return update


def _index_days(source: TradingDaySource, start: dt.date, cutoff: dt.date) -> list[dt.date]:
    days = source.trading_days(start, cutoff)
    while len(days) % INDEX_PAGE_ROWS == 0 and days[-1] < cutoff:
        try:
            more = source.trading_days(days[-1] + dt.timedelta(days=1), cutoff)
        except ProviderError:
            break  # the next page is empty or refused: what came so far is true
        days.extend(more)
        if len(more) < INDEX_PAGE_ROWS:
            break
    return [day for day in days if day <= cutoff]


def sync_calendar(
    *,
    run: SyncRun | None = None,
    trigger: str = SyncTrigger.COMMAND,
    source: TradingDaySource | None = None,
    now: dt.datetime | None = None,
) -> SyncRun:
    """One calendar run: read the index, store the trading days it shows; return the run.

    ``source`` is the configured TradingDaySource when not given.
    """

    def body(recorder: RunRecorder) -> tuple[str, str]:
        recorder.set_total(1)
        day_source = source or provider_for(TradingDaySource)
        recorder.set_provider(day_source.name)
        record_passed_over(recorder, day_source, "trading days")
        return _sync(recorder, day_source, now)

    return run_sync(SyncKind.CALENDAR, body, {}, run=run, trigger=trigger)


def _sync(recorder: RunRecorder, source: TradingDaySource, now) -> tuple[str, str]:
    cooldown = active_cooldown(source.name)
    if cooldown is not None:
        return SyncStatus.FAILED, f"not asked: {describe(cooldown)}"
    try:
        update = refresh_calendar(source, now)
    except ProviderBlocked as exc:
        message = describe(start_cooldown(source.name, str(exc)))
        recorder.problem(str(exc), detail=getattr(exc, "body", "") or "")
        return SyncStatus.FAILED, f"the index k-lines were refused: {message}"
    except ProviderError as exc:
        recorder.problem(str(exc), detail=getattr(exc, "body", "") or "")
        recorder.add(items_done=1, items_failed=1)
        return SyncStatus.FAILED, f"the calendar is unchanged: {exc}"
    recorder.add(
        items_done=1,
        rows_fetched=len(update.fetched),
        rows_created=update.learned,
        rows_unchanged=len(update.fetched) - update.learned,
        warnings=len(update.doubtful),
    )
    recorder.problems(
        [
            (
                f"the index has no bar for {day}, which the calendar holds as a trading day "
                "(kept; check the source)",
                "",
                "warning",
                "",
                None,
            )
            for day in update.doubtful
        ]
    )
    if update.newest is None:
        return SyncStatus.SUCCEEDED, "nothing to ask yet: the calendar is current"
    return SyncStatus.SUCCEEDED, (
        f"trading days known up to {update.newest}; {update.learned} new from the index"
    )
