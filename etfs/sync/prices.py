"""The ETF price sync: daily bars for every listed ETF, incremental, concurrent, in batches."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import Max, Subquery

from etfs.models import (
    FINAL_STATUSES,
    DailyBar,
    StockInfo,
    SyncKind,
    SyncRun,
    SyncRunError,
    SyncStatus,
    SyncTrigger,
)
from etfs.providers.base import (
    Bar,
    BarRows,
    DailyBarSource,
    KlineSeries,
    ListPassBarSource,
    ProviderBlocked,
    ProviderDataError,
    ProviderError,
)

from .calendar import last_final_day, previous_trading_day, shanghai_now
from .cooldown import active_cooldown, describe, start_cooldown
from .jumps import after_price_batch, check_list_previous_closes
from .runs import RunRecorder, run_sync
from .sources import provider_for
from .upsert import UpsertResult, upsert_fund_bars

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
# Eastmoney's k-line history of the oldest funds begins in the 2000s; "from listing".
EARLIEST = dt.date(1990, 12, 19)
BATCH_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class PriceOptions:
    """What a price run covers; stored on the run as its parameters."""

    codes: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    start_year: int | None = None
    full: bool = False
    # The after-close daily run: funds one day behind take the day's bar from one pass over
    # the list endpoint instead of a k-line request each (no look-back; the weekly corrections
    # run re-reads recent bars through the k-lines).
    from_list: bool = False

    @classmethod
    def from_parameters(cls, parameters: dict) -> PriceOptions:
        return cls(
            codes=tuple(parameters.get("codes") or ()),
            start=_date(parameters.get("start")),
            end=_date(parameters.get("end")),
            start_year=parameters.get("start_year"),
            full=bool(parameters.get("full")),
            from_list=bool(parameters.get("from_list")),
        )

    def as_parameters(self) -> dict:
        values = {
            "codes": list(self.codes),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "start_year": self.start_year,
            "full": self.full,
            "from_list": self.from_list,
        }
        return {key: value for key, value in values.items() if value}

    @property
    def incremental(self) -> bool:
        return not self.full and self.start is None


@dataclass(frozen=True, slots=True)
class FundPlan:
    security_id: int
    code: str
    exchange: str
    start: dt.date
    end: dt.date
    last: dt.date | None = None  # the newest bar stored when the run began


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def sync_etf_prices(
    options: PriceOptions | None = None,
    *,
    run: SyncRun | None = None,
    trigger: str = SyncTrigger.COMMAND,
    bars: DailyBarSource | None = None,
    list_pass: ListPassBarSource | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> SyncRun:
    """Fetch and store the daily bars the options ask for; return the finished run.

    ``bars`` and ``list_pass`` are the sources (the configured ones when not given).
    """
    options = options or PriceOptions()

    def body(recorder: RunRecorder) -> tuple[str, str]:
        bar_source = bars or provider_for(DailyBarSource)
        recorder.set_provider(bar_source.name)
        return _sync(recorder, options, bar_source, list_pass, progress, now)

    return run_sync(SyncKind.ETF_PRICES, body, options.as_parameters(), run=run, trigger=trigger)


def _sync(
    recorder: RunRecorder, options: PriceOptions, bars, list_pass, progress, now
) -> tuple[str, str]:
    final_day = last_final_day(now)
    today = shanghai_now(now).date()
    plans, notes = plan_funds(options, final_day)
    if not plans and not options.codes:
        return SyncStatus.SUCCEEDED, "no listed ETFs to sync yet: run the ETF list sync first"
    recorder.set_total(len(plans))
    if notes:
        recorder.problems([(note, "", "warning", "", None) for note in notes])
    tracker = _Tracker(recorder, len(plans), progress, bars.name)
    pending = [plan for plan in plans if plan.start <= plan.end]
    tracker.skip(len(plans) - len(pending))
    if pending and tracker.check_stop(force=True):
        return tracker.outcome()
    if options.from_list and options.incremental and final_day == today and pending:
        list_pass = list_pass or provider_for(ListPassBarSource)
        pending = _take_bars_from_list(tracker, pending, list_pass, final_day)
    if not tracker.stopped:
        _fetch_klines(tracker, pending, bars, today)
    return tracker.outcome()


def plan_funds(options: PriceOptions, final_day: dt.date) -> tuple[list[FundPlan], list[str]]:
    """Which ETFs to fetch and from when: each from its own last bar minus the look-back."""
    securities = StockInfo.objects.etfs()
    notes = []
    if options.codes:
        securities = StockInfo.objects.filter(is_etf=True, code__in=options.codes)
        missing = sorted(set(options.codes) - set(securities.values_list("code", flat=True)))
        if missing:
            notes.append(f"unknown ETF code(s), skipped: {', '.join(missing)}")
    securities = list(securities.order_by("code", "exchange").values_list("id", "code", "exchange"))
    last_bars = dict(
        DailyBar.objects.filter(security_id__in=[row[0] for row in securities])
        .values_list("security_id")
        .annotate(last=Max("trade_date"))
        .order_by()
    )
    end = min(options.end or final_day, final_day)
    lookback = dt.timedelta(days=settings.ETFSYNC_LOOKBACK_DAYS)
    first_year = options.start_year or settings.ETFSYNC_START_YEAR
    plans = []
    for security_id, code, exchange in securities:
        last = last_bars.get(security_id)
        if options.full:
            start = EARLIEST
        elif options.start:
            start = options.start
        elif last:
            start = last - lookback
        else:
            start = dt.date(first_year, 1, 1)
        plans.append(FundPlan(security_id, code, exchange, start, end, last))
    # Funds that failed last time go last (in code order still), so that whatever is wrong with
    # them meets the others only after those are done.
    failed_before = failed_in_last_price_run()
    plans.sort(key=lambda plan: plan.security_id in failed_before)
    return plans, notes


def failed_in_last_price_run() -> set[int]:
    """The funds with an error on the last finished price run (chunks' errors are kept there)."""
    last = SyncRun.objects.filter(
        kind=SyncKind.ETF_PRICES, parent__isnull=True, status__in=FINAL_STATUSES
    ).order_by("-finished_at", "-id")
    errors = SyncRunError.objects.filter(
        run=Subquery(last.values("pk")[:1]),
        severity=SyncRunError.Severity.ERROR,
        security__isnull=False,
    )
    return set(errors.values_list("security_id", flat=True))


def _take_bars_from_list(
    tracker, plans: list[FundPlan], source: ListPassBarSource, day: dt.date
) -> list[FundPlan]:
    """After the close, one pass over the list gives the day's bar of every ETF that traded.

    Funds that have the day's bar already are done; funds whose last stored bar is the
    previous trading day take it from the list; the others (and funds without a bar in the
    list) go on to the k-line endpoint. Returns those.
    """
    current = [plan for plan in plans if plan.last is not None and plan.last >= day]
    tracker.skip(len(current))
    plans = [plan for plan in plans if plan.last is None or plan.last < day]
    previous = previous_trading_day(day)
    one_behind = {(plan.code, plan.exchange): plan for plan in plans if plan.last == previous}
    if not one_behind:
        return plans
    fetched = source.day_bars(day, on_page=lambda *_: tracker.recorder.beat())
    if isinstance(fetched.error, ProviderBlocked):
        tracker.blocked_by(fetched.error, source.name)
    elif fetched.error is not None:
        tracker.recorder.problem(
            f"daily list pass failed, using k-lines: {fetched.error}", severity="warning"
        )
    covered: list[tuple[FundPlan, list[Bar]]] = [
        (one_behind[key], [bar]) for key, bar in fetched.bars.items() if key in one_behind
    ]
    tracker.recorder.count(rows_fetched=len(covered))
    tracker.write(covered)
    check_list_previous_closes(tracker.recorder, one_behind, fetched.previous_closes, day)
    taken = {plan.security_id for plan, _ in covered}
    return [plan for plan in plans if plan.security_id not in taken]


def _fetch_klines(tracker, plans: list[FundPlan], source: DailyBarSource, today: dt.date) -> None:
    """Fetch several funds at a time (the HTTP layer keeps the rate), write in batches."""
    batch: list[tuple[FundPlan, list[Bar]]] = []
    batch_rows = 0
    for plan, result in _fetch_concurrently(plans, source, today, tracker):
        if isinstance(result, ProviderBlocked):
            if confirmed_ban(source, result, today):
                tracker.blocked_by(result)
                break  # a ban: stop asking; the funds not fetched yet stay for the next run
            tracker.fail(plan, refused_fund_alone(result))
            continue
        if isinstance(result, ProviderError):
            tracker.fail(plan, result)
            continue
        tracker.recorder.row_problems(result.problems, plan.security_id)
        rejected = sum(problem.fatal for problem in result.problems)
        # A source that ignores `end` may send the day in progress: it is not final yet.
        bars = _until(result.bars, plan.end)
        tracker.recorder.count(
            rows_fetched=len(bars),
            rows_rejected=rejected,
            warnings=len(result.problems) - rejected,
        )
        batch.append((plan, bars))
        batch_rows += len(bars)
        if len(batch) >= settings.ETFSYNC_PRICE_BATCH_ETFS or batch_rows >= BATCH_ROWS:
            tracker.write(batch)
            batch, batch_rows = [], 0
        if tracker.check_stop():
            break  # at an ETF boundary; what was fetched is still written below
    tracker.write(batch)


def _until(bars, day: dt.date):
    if isinstance(bars, BarRows):
        return bars.until(day)
    return [bar for bar in bars if bar.trade_date <= day]


def confirmed_ban(source: DailyBarSource, refusal: ProviderBlocked, today: dt.date) -> bool:
    """A 403 or a lasting 429 is a ban. An HTML page or an empty body for one fund may be that
    fund's own broken answer: one request every client gets answered tells the two apart, so
    that one bad fund does not pause every worker and block the funds after it for good."""
    if not getattr(refusal, "retryable", False):
        return True
    try:
        source.check_access(today)
    except (ProviderBlocked, NotImplementedError):
        return True  # refused too, or a source that cannot tell: a ban
    except ProviderError:
        return False  # an outage is not a refusal; the fund fails like in any outage
    return False


def refused_fund_alone(refusal: ProviderBlocked) -> ProviderDataError:
    return ProviderDataError(
        f"{refusal}; the source answers other requests, so this fund alone failed (not a ban)",
        body=refusal.body,
    )


def _fetch_concurrently(
    plans: list[FundPlan], source: DailyBarSource, today: dt.date, tracker
) -> Iterator[tuple[FundPlan, KlineSeries | ProviderError]]:
    """Yield each fund's parsed k-lines (or its error) as it arrives.

    Two batches of funds are asked for ahead of the one being written, so the fetch workers go
    on downloading and parsing while the caller writes (its database round trips let them
    run); memory stays bounded by that look-ahead. When the caller stops early, the requests
    not started yet are dropped.
    """
    workers = max(1, settings.ETFSYNC_CONCURRENCY)
    ahead = max(workers * 2, settings.ETFSYNC_PRICE_BATCH_ETFS * 2)
    queue = iter(plans)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="klines")
    in_flight: dict[Future, FundPlan] = {}

    def submit_next() -> None:
        plan = next(queue, None)
        if plan is not None and not tracker.stopped:
            future = pool.submit(
                source.daily_bars, plan.code, plan.exchange, plan.start, plan.end, today
            )
            in_flight[future] = plan

    try:
        for _ in range(ahead):
            submit_next()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                plan = in_flight.pop(future)
                try:
                    yield plan, future.result()
                except ProviderError as exc:
                    yield plan, exc
                submit_next()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Tracker:
    """Counts items and rows of one run, writes batches, and decides the final status."""

    def __init__(self, recorder: RunRecorder, total: int, progress: Progress | None, source: str):
        self.recorder = recorder
        self.source = source  # the name the bars' source's cooldown goes by
        self.total = total
        self.progress = progress
        self.done = 0
        self.failed = 0
        self.result = UpsertResult()
        self.cancelled = False
        self.blocked = ""
        self.first_error = ""
        self._last_beat = time.monotonic()

    @property
    def stopped(self) -> bool:
        return self.cancelled or bool(self.blocked)

    def check_stop(self, force: bool = False) -> bool:
        """Heartbeat, cancellation and shared-cooldown check, at most once a second."""
        now = time.monotonic()
        if force or now - self._last_beat >= 1.0:
            self._last_beat = now
            self.recorder.flush()  # what was counted since the last batch, once a second
            self.cancelled = self.recorder.beat()
            cooldown = active_cooldown(self.source)
            if cooldown is not None:
                self.blocked = describe(cooldown)
        return self.stopped

    def blocked_by(self, error: ProviderBlocked, source: str | None = None) -> None:
        """The source signalled a ban: record a cooldown every worker will respect."""
        self.blocked = describe(start_cooldown(source or self.source, str(error)))
        self.recorder.problem(str(error), detail=getattr(error, "body", "") or "")

    def skip(self, count: int) -> None:
        if count:
            self.done += count
            self.recorder.count(items_done=count)
            self._report("up to date")

    def fail(self, plan: FundPlan, error: ProviderError) -> None:
        self.failed += 1
        self.done += 1
        self.first_error = self.first_error or f"{plan.code}: {error}"
        self.recorder.problem(
            str(error),
            code=plan.code,
            security_id=plan.security_id,
            detail=getattr(error, "body", "") or "",
        )
        self.recorder.count(items_done=1, items_failed=1)
        self._report(plan.code)

    def write(self, batch: list[tuple[FundPlan, list[Bar]]]) -> None:
        """Commit one batch: a crash loses at most this batch; a re-run continues after it."""
        if not batch:
            return
        try:
            with transaction.atomic():
                result = upsert_fund_bars([(plan.security_id, bars) for plan, bars in batch])
                # The counters commit with the rows they count: one write per batch.
                self.recorder.flush(
                    items_done=len(batch),
                    rows_created=result.inserted,
                    rows_updated=result.updated,
                    rows_unchanged=result.unchanged,
                )
        except (InterfaceError, OperationalError):
            raise  # the database is gone, not a bad value: the run ends with that error
        except DatabaseError as exc:
            if len(batch) == 1:
                self.fail(batch[0][0], ProviderDataError(f"cannot store its bars: {exc}"))
                return
            # A value the columns cannot hold fails the whole statement; find whose it is by
            # writing the funds one by one, so only that fund fails.
            for entry in batch:
                self.write([entry])
            return
        self.result += result
        after_price_batch(self.recorder, batch)
        self.done += len(batch)
        # The full check, cooldown included: it restarts check_stop's once-a-second clock, so
        # with batches written more often than that a cancel-only beat here would mean another
        # worker's ban is never noticed.
        self.check_stop(force=True)
        self._report(f"{self.result.inserted} new bars")

    def _report(self, label: str) -> None:
        if self.progress:
            self.progress(self.done, self.total, label)

    def outcome(self) -> tuple[str, str]:
        self.recorder.flush()
        totals = self.recorder.totals
        notes = []
        if totals["rows_rejected"]:
            notes.append(f"{totals['rows_rejected']} bar(s) rejected by sanity checks")
        if totals["warnings"]:
            notes.append(f"{totals['warnings']} warning(s), e.g. suspicious units")
        if self.cancelled:
            return SyncStatus.CANCELLED, "; ".join(["cancelled on request", *notes])
        if self.blocked:
            left = self.total - self.done
            summary = f"stopped, {left} of {self.total} ETF(s) not synced: {self.blocked}"
            status = SyncStatus.FAILED if self.done == 0 else SyncStatus.PARTIAL
            return status, "; ".join([summary, *notes])
        if self.failed:
            summary = f"{self.failed} of {self.total} ETF(s) failed, first: {self.first_error}"
            status = SyncStatus.FAILED if self.failed == self.total else SyncStatus.PARTIAL
            return status, "; ".join([summary, *notes])
        return SyncStatus.SUCCEEDED, "; ".join(notes)
