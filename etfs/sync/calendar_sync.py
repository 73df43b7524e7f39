"""Keep the trading calendar from the market itself: the SSE Composite index's daily k-lines.

The exchanges announce a year's holidays only in December and no package knows them earlier
(shared/providers.md section 5), so the calendar learns each trading day from the index, which
has a bar on every trading day and on no other. Incremental: from the newest known trading
day minus a look-back, through the k-line endpoint and HTTP session of the price sync.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db.models import Max

from etfs.models import DailyBar, SyncKind, SyncRun, SyncStatus, SyncTrigger, TradingDay
from etfs.providers.base import ProviderBlocked, ProviderError, TradingDaySource

from .calendar import (
    EARLIEST_TRADING_DAY,
    final_cutoff,
    record_closed_days,
    record_trading_days,
)
from .cooldown import active_cooldown, describe, start_cooldown
from .job import Job, ScheduleSpec
from .runs import Problem, RunRecorder, run_sync
from .sources import provider_for, record_passed_over

# An index answer may stop at about 1,000 rows (providers.md section 5): a full page means
# "ask again from the day after its last row".
INDEX_PAGE_ROWS = 1000


# An unexpected closure of days the calendar held open is rare and short (2020-01-31, one day
# added to the Spring Festival). An answer that lacks more of them is a faulty answer, not a
# run of holidays: Tencent's SSE Composite for 1990-95 lacks 173 trading days.
MAX_CORRECTIONS = 3


@dataclass
class CalendarUpdate:
    """What one read of the index taught the calendar."""

    fetched: list[dt.date] = field(default_factory=list)
    learned: int = 0
    corrected: list[dt.date] = field(default_factory=list)  # held open, closed by the index
    doubtful: list[dt.date] = field(default_factory=list)  # held open, no index bar, kept

    @property
    def newest(self) -> dt.date | None:
        return self.fetched[-1] if self.fetched else None

    def warnings(self) -> list[str]:
        """What the run should say about the days the index contradicted."""
        said = [
            f"{day} corrected to closed: the calendar held it as a trading day and the index "
            f"has no bar for it ({_bars_on(day)} bar(s) stored on it are kept)"
            for day in self.corrected
        ]
        if self.doubtful:
            said.append(
                f"the index has no bar for {len(self.doubtful)} day(s) the calendar holds as "
                f"trading days ({describe_stretches(self.doubtful)}): kept; an answer with a "
                "gap is not a run of holidays, check the source"
            )
        return said


def refresh_calendar(
    source: TradingDaySource, now: dt.datetime | None = None, run: SyncRun | None = None
) -> CalendarUpdate:
    """Read the index over the re-check window and the days after it; store what it shows.

    The window reaches back ETFSYNC_CALENDAR_LOOKBACK_DAYS from today, or from the newest known
    trading day when that is older, so known days are checked too, not only new ones learnt: a
    day held open that the index has no bar for (while it shows later days) is corrected to
    closed, and a day held closed that it shows is corrected to open, each kept as a
    CalendarRevision of ``run``. Never a date after the last day that can be final at ``now``
    (the day in progress has a bar too). Raises ProviderError (ProviderDataError for an empty
    answer) like any fetch.
    """
    cutoff = final_cutoff(now)
    newest_open = TradingDay.objects.open().aggregate(last=Max("date"))["last"]
    reach = min(newest_open or EARLIEST_TRADING_DAY, cutoff)
    start = reach - dt.timedelta(days=settings.ETFSYNC_CALENDAR_LOOKBACK_DAYS)
    update = CalendarUpdate()
    update.fetched = _index_days(source, start, cutoff)
    update.learned = record_trading_days(update.fetched, source="index", run=run)
    if update.fetched:
        # Days before the first bar are not checked: an answer may not reach back as asked.
        held_open = TradingDay.objects.open().filter(date__range=(update.fetched[0], update.newest))
        seen = set(update.fetched)
        missing = [day for day in held_open.values_list("date", flat=True) if day not in seen]
        if len(missing) <= MAX_CORRECTIONS:
            update.corrected = missing
            record_closed_days(missing, source="index", run=run)
        else:
            update.doubtful = missing
    return update


def describe_stretches(days: list[dt.date], shown: int = 5) -> str:
    """``days`` as runs of consecutive trading days: "1992-05-13..1992-06-02 (15 days), …"."""
    runs: list[list[dt.date]] = []
    open_days = list(
        TradingDay.objects.open()
        .filter(date__range=(days[0], days[-1]))
        .values_list("date", flat=True)
    )
    position = {day: index for index, day in enumerate(open_days)}
    for day in days:
        if runs and position.get(day, -2) == position.get(runs[-1][-1], -5) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    text = [
        f"{run[0]}" if len(run) == 1 else f"{run[0]}..{run[-1]} ({len(run)} days)"
        for run in runs[:shown]
    ]
    more = f" and {len(runs) - shown} more stretch(es)" if len(runs) > shown else ""
    return f"{len(runs)} stretch(es): " + ", ".join(text) + more


def _bars_on(day: dt.date) -> int:
    return DailyBar.objects.filter(trade_date=day).count()


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
    body = partial(sync_trading_days, options=CalendarOptions(), source=source, now=now)
    return run_sync(SyncKind.CALENDAR, body, {}, run=run, trigger=trigger)


@dataclass(frozen=True, slots=True)
class CalendarOptions:
    """A calendar run has no options: it reads from the newest known day on."""

    @classmethod
    def from_parameters(cls, parameters: dict) -> CalendarOptions:
        return cls()

    def as_parameters(self) -> dict:
        return {}


def sync_trading_days(
    recorder: RunRecorder,
    options: CalendarOptions,
    *,
    source: TradingDaySource | None = None,
    now: dt.datetime | None = None,
) -> tuple[str, str]:
    """The calendar job's body: the run's status and summary."""
    recorder.set_total(1)
    source = source or provider_for(TradingDaySource)
    recorder.set_provider(source.name)
    record_passed_over(recorder, source, "trading days")
    cooldown = active_cooldown(source.name)
    if cooldown is not None:
        return SyncStatus.FAILED, f"not asked: {describe(cooldown)}"
    try:
        update = refresh_calendar(source, now, run=recorder.run)
    except ProviderBlocked as exc:
        message = describe(start_cooldown(source.name, str(exc)))
        recorder.record(Problem.of_error(exc))
        return SyncStatus.FAILED, f"the index k-lines were refused: {message}"
    except ProviderError as exc:
        recorder.record(Problem.of_error(exc))
        recorder.count(items_done=1, items_failed=1)
        recorder.flush()
        return SyncStatus.FAILED, f"the calendar is unchanged: {exc}"
    warnings = update.warnings()
    recorder.count(
        items_done=1,
        rows_fetched=len(update.fetched),
        rows_created=update.learned,
        rows_updated=len(update.corrected),
        rows_unchanged=len(update.fetched) - update.learned,
    )
    recorder.flush()
    recorder.record(*(Problem.warning(warning) for warning in warnings))
    if update.newest is None:
        return SyncStatus.SUCCEEDED, "nothing to ask yet: the calendar is current"
    summary = f"trading days known up to {update.newest}; {update.learned} new from the index"
    if update.corrected:
        summary += f"; {len(update.corrected)} corrected to closed"
    return SyncStatus.SUCCEEDED, summary


JOB = Job(
    kind=SyncKind.CALENDAR,
    options=CalendarOptions,
    run=sync_trading_days,
    button="Sync trading calendar",
    slug="calendar",
    # The calendar learns yesterday's trading day from the index before the list sync. Today's
    # it learns once the day has settled as the first step of the full sync's daily update,
    # just before that update's price steps: a source whose list is late that day then meets a
    # known trading day (and stops instead of calling it a holiday).
    schedules=(
        ScheduleSpec(
            "etfsync: trading calendar (every morning)", "45 7 * * *", trading_days_only=False
        ),
    ),
)
