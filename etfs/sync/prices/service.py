"""The price sync service: plan the funds, take what one list pass gives, fetch the rest, write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial

from django.conf import settings
from django.db.models import Count, Max, Min

from etfs.models import StockInfo, SyncRun, SyncStatus, SyncTrigger
from etfs.providers.base import (
    Bar,
    BarRows,
    DailyBarSource,
    ListPassBarSource,
    ProviderBlocked,
    ProviderDataError,
    ProviderError,
)
from etfs.providers.stocks import StockListSource

from ..calendar import final_cutoff, previous_trading_day, shanghai_now
from ..freshness import refresh_days_behind
from ..jumps import check_list_previous_closes
from ..market_day import FinalDay, decide_final_day
from ..runs import Problem, Progress, RunRecorder, RunStopped, run_sync
from ..sources import provider_for, record_passed_over
from ..universe import ETFS, STOCKS, Universe
from .fetching import confirmed_ban, fetch_klines_concurrently, refused_fund_alone
from .planning import FundPlan, PriceOptions, plan_funds, price_kind, record_missing_history
from .writing import BarBatches, concurrent_writers


def sync_etf_prices(options: PriceOptions | None = None, **kwargs) -> SyncRun:
    """Fetch and store the ETFs' daily bars the options ask for; return the finished run."""
    return sync_universe_prices(ETFS, options, **kwargs)


def sync_stock_prices(options: PriceOptions | None = None, **kwargs) -> SyncRun:
    """Fetch and store the stocks' daily bars the options ask for; return the finished run."""
    return sync_universe_prices(STOCKS, options, **kwargs)


def sync_universe_prices(
    universe: Universe,
    options: PriceOptions | None = None,
    *,
    run: SyncRun | None = None,
    trigger: str = SyncTrigger.COMMAND,
    bars: DailyBarSource | None = None,
    list_pass: ListPassBarSource | StockListSource | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> SyncRun:
    """Fetch and store the daily bars of ``universe``'s securities the options ask for;
    return the finished run.

    ``bars`` and ``list_pass`` are the sources (the configured ones when not given).
    """
    options = options or PriceOptions()
    body = partial(
        sync_prices, options=options, universe=universe, bars=bars, list_pass=list_pass, now=now
    )
    return run_sync(
        price_kind(universe),
        body,
        options.as_parameters(),
        run=run,
        trigger=trigger,
        progress=progress,
    )


def sync_prices(
    recorder: RunRecorder,
    options: PriceOptions,
    *,
    universe: Universe = ETFS,
    bars: DailyBarSource | None = None,
    list_pass: ListPassBarSource | StockListSource | None = None,
    now: dt.datetime | None = None,
) -> tuple[str, str]:
    """The price job's body (for the universe's securities): the run's status and summary."""
    bar_source = bars or provider_for(DailyBarSource)
    recorder.set_provider(bar_source.name)
    record_passed_over(recorder, bar_source, "daily bars")
    try:
        return _sync(recorder, options, bar_source, list_pass, now, universe)
    except RunStopped:  # while paging the list: no fund was asked for yet
        return price_run_outcome(recorder, noun=universe.noun)


def list_pass_source(universe: Universe):
    """The source whose one pass over a list gives the day's bar of every security of the
    universe (ETFs: the fund list; stocks: the four A-share boards)."""
    return provider_for(ListPassBarSource if universe.is_etf else StockListSource)


# The fallback guard of the after-close run always lets this many funds go to k-lines.
FALLBACK_ALWAYS_ALLOWED = 3


def _sync(
    recorder: RunRecorder, options: PriceOptions, bars, list_pass, now, universe: Universe
) -> tuple[str, str]:
    noun = universe.noun
    if options.from_list and options.incremental:
        if list_pass is None:
            list_pass = list_pass_source(universe)
            record_passed_over(recorder, list_pass, "the day's bars from the list")
    day = decide_final_day(recorder, options, list_pass, now)
    if day.blocked is not None:
        recorder.blocked_by(day.blocked, day.blocked_source)
    plans, notes = plan_funds(options, day.final or day.previous or final_cutoff(now), universe)
    if not plans and not options.codes:
        return (
            SyncStatus.SUCCEEDED,
            f"no listed {universe.name} to sync yet: run the {noun} list sync first",
        )
    recorder.set_total(len(plans))
    if notes:
        recorder.record(*(Problem.warning(note) for note in notes))
    if day.final is None:  # a closed day, or one nobody could decide: no k-line request
        if not day.failed:  # a closed day: every fund is as current as the market
            recorder.items_done_at_once(len(plans))
        # An undecided day leaves every fund not attempted: not done, and not counted as done.
        return price_run_outcome(recorder, stopped_by=day.failed, notes=[day.note], noun=noun)
    pending = [plan for plan in plans if plan.start <= plan.end]
    if options.from_list and options.incremental:
        # The after-close run never re-reads funds that hold the day: corrections are the
        # Saturday run's job.
        pending = [plan for plan in pending if plan.last is None or plan.last < day.final]
    recorder.items_done_at_once(len(plans) - len(pending))
    if pending and recorder.should_stop(now=True):
        return price_run_outcome(recorder, noun=noun)
    batches = BarBatches(recorder, writers=concurrent_writers())
    stopped_by = ""
    if options.from_list and options.incremental and pending:
        pending = take_bars_from_list(recorder, batches, pending, list_pass, day)
        with_bars = sum(plan.last is not None for plan in plans)
        stopped_by = too_many_fallbacks(pending, with_bars, noun)
    if not (recorder.stopped or stopped_by):
        store_klines(recorder, batches, pending, bars, shanghai_now(now).date())
    behind = _refresh_days_behind(plans, day.final, universe)
    stale = stale_source(recorder, plans, day.final, noun)
    clean = not (recorder.stopped or stopped_by or recorder.totals["items_failed"])
    notes = [day.note, stale or behind] if clean else [day.note, stale]
    return price_run_outcome(recorder, stopped_by=stopped_by, notes=notes, noun=noun)


def too_many_fallbacks(plans: list[FundPlan], with_bars: int, noun: str = "ETF") -> str:
    """Why the after-close run stops rather than storm the k-lines, or "" when it need not.

    Funds without bars need their history anyway and are not counted; a few funds
    (suspensions) may always fall back.
    """
    fallbacks = sum(plan.last is not None for plan in plans)
    share = settings.ETFSYNC_LIST_FALLBACK_MAX_SHARE
    if fallbacks <= max(FALLBACK_ALWAYS_ALLOWED, share * with_bars):
        return ""
    return (
        f"stopped before the k-lines: {fallbacks} of {len(plans)} {noun}(s) have no settled bar "
        f"in the list (more than {share:.0%} of {with_bars} with bars): the source is late "
        "publishing the day, or the list pass went wrong; run again later, or without "
        "--from-list to read every fund's k-lines"
    )


def _refresh_days_behind(plans: list[FundPlan], final_day: dt.date, universe: Universe) -> str:
    """Refresh the run's securities' days behind; say how many listed ones still lack the last
    final day (a delisted stock's history ends at its delisting)."""
    refresh_days_behind(final_day, [plan.security_id for plan in plans], universe)
    ids = [plan.security_id for plan in plans if plan.delisted_on is None]
    behind = StockInfo.objects.filter(pk__in=ids).behind(final_day).count()
    if not behind:
        return ""
    return (
        f"{behind} {universe.noun}(s) have no bar for {final_day}: suspended, or missing at "
        "the source"
    )


def stale_source(
    recorder: RunRecorder, plans: list[FundPlan], final_day: dt.date, noun: str = "ETF"
) -> str:
    """When every listed security of the run that has bars is still behind ``final_day`` by
    more than ETFSYNC_STALE_SOURCE_TRADING_DAYS, record the source's newest day on the run (the
    front page and the notifications read it) with a warning, and return the note saying so.
    A delisted stock's history ends at its delisting: it says nothing about the source."""
    listed = [plan.security_id for plan in plans if plan.delisted_on is None]
    funds = StockInfo.objects.filter(pk__in=listed)
    seen = funds.filter(last_bar_date__isnull=False).aggregate(
        newest=Max("last_bar_date"), least_behind=Min("days_behind"), count=Count("id")
    )
    limit = settings.ETFSYNC_STALE_SOURCE_TRADING_DAYS
    if not seen["count"] or seen["least_behind"] is None or seen["least_behind"] <= limit:
        return ""
    note = (
        f"the source's data are stale: its newest bars are from {seen['newest']}, and all "
        f"{seen['count']} {noun}(s) with bars are at least {seen['least_behind']} trading day(s) "
        f"behind {final_day}: the source stopped publishing, or the calendar is ahead of it"
    )
    recorder.record(Problem.warning(note, kind="a stale source"))
    recorder.mark_stale_source(seen["newest"])
    return note


def take_bars_from_list(
    recorder: RunRecorder,
    batches: BarBatches,
    plans: list[FundPlan],
    source: ListPassBarSource,
    day: FinalDay,
) -> list[FundPlan]:
    """After the close, one pass over the list gives the day's bar of every ETF that traded.

    Funds whose last stored bar is the previous trading day take it from the list (the pass
    read to decide the day is reused); the others (and funds without a settled bar in the
    list) go on to the k-line endpoint. Returns those.
    """
    previous = day.previous or previous_trading_day(day.final)
    one_behind = {(plan.code, plan.exchange): plan for plan in plans if plan.last == previous}
    if not one_behind:
        return plans
    fetched = day.day_bars or source.day_bars(day.final, on_page=recorder.stop_between_pages)
    if isinstance(fetched.error, ProviderBlocked):
        recorder.blocked_by(fetched.error, source.name)
    elif fetched.error is not None:
        recorder.record(Problem.warning(f"daily list pass failed: {fetched.error}"))
    covered: list[tuple[FundPlan, Sequence[Bar]]] = [
        (one_behind[key], [bar]) for key, bar in fetched.bars.items() if key in one_behind
    ]
    recorder.count(rows_fetched=len(covered))
    # Done at once from one pass: counted apart from the funds fetched one by one (the rate).
    recorder.items_done_at_once(len(covered), "taken from the list")
    batches.write_entries(covered)
    check_list_previous_closes(recorder, one_behind, fetched.previous_closes, day.final)
    taken = {plan.security_id for plan, _ in covered}
    return [plan for plan in plans if plan.security_id not in taken]


def store_klines(
    recorder: RunRecorder,
    batches: BarBatches,
    plans: list[FundPlan],
    source: DailyBarSource,
    today: dt.date,
) -> None:
    """Fetch the funds' k-lines several at a time and write them in batches as they come."""
    try:
        _store_klines(recorder, batches, plans, source, today)
    except BaseException:
        batches.abandon()
        raise
    batches.close()


def _store_klines(recorder, batches, plans, source, today) -> None:
    for plan, result in fetch_klines_concurrently(plans, source, today, lambda: recorder.stopped):
        if isinstance(result, ProviderBlocked):
            if confirmed_ban(source, result, today):
                recorder.blocked_by(result)
                break  # a ban: stop asking; the funds not fetched yet stay for the next run
            result = refused_fund_alone(result)
        if isinstance(result, ProviderError):
            recorder.item_failed(plan.code, result, security_id=plan.security_id)
            continue
        recorder.record_rows(result.problems, plan.security_id)
        rejected = sum(problem.fatal for problem in result.problems)
        # A source that ignores `end` may send the day in progress: it is not final yet.
        bars = _until(result.bars, plan.end)
        recorder.count(rows_fetched=len(bars))
        if record_missing_history(plan, result.bars, result.problems):
            recorder.count(items_done=1)  # a fact about the stock, recorded: nothing to write
            continue
        if rejected and not len(result.bars):
            recorder.item_failed(
                plan.code, every_row_rejected(plan.code, result), security_id=plan.security_id
            )
            continue
        # After each fund; after a batch, another worker's ban too.
        if recorder.should_stop(now=batches.add(plan, bars)):
            break  # at an ETF boundary; what was fetched is still written (close())


def every_row_rejected(code: str, result) -> ProviderDataError:
    """A fund whose answer had rows but not one good bar failed, whatever the run's others."""
    first = next(problem.message for problem in result.problems if problem.fatal)
    rejected = sum(problem.fatal for problem in result.problems)
    return ProviderDataError(
        f"k-lines {code}: every one of the {rejected} row(s) was rejected; first: {first}"
    )


def _until(bars: Sequence[Bar], day: dt.date) -> Sequence[Bar]:
    if isinstance(bars, BarRows):
        return bars.until(day)
    return [bar for bar in bars if bar.trade_date <= day]


def warning_notes(recorder: RunRecorder) -> list[str]:
    """One note per kind of warning with its count, most frequent first; warnings counted
    without a kind (a note of the plan, say) are "other"."""
    kinds = recorder.warning_kinds.copy()
    unnamed = recorder.totals["warnings"] - sum(kinds.values())
    if unnamed > 0:
        kinds["other"] += unnamed
    return [f"{count} warning(s) about {kind}" for kind, count in kinds.most_common() if count]


def price_run_outcome(
    recorder: RunRecorder, *, stopped_by: str = "", notes: Sequence[str] = (), noun: str = "ETF"
) -> tuple[str, str]:
    """The run's status and summary from what the recorder counted.

    ``stopped_by`` is why the run stopped before asking (an undecidable day, the fallback
    guard); ``notes`` lead the summary (a holiday, ETFs still behind).
    """
    recorder.flush()
    totals, total = recorder.totals, recorder.run.items_total
    notes = [note for note in notes if note]
    if totals["rows_rejected"]:
        notes.append(f"{totals['rows_rejected']} bar(s) rejected by sanity checks")
    notes.extend(warning_notes(recorder))
    if recorder.cancelled:
        return SyncStatus.CANCELLED, "; ".join(["cancelled on request", *notes])
    if recorder.blocked:
        done = totals["items_done"]
        summary = f"stopped, {total - done} of {total} {noun}(s) not synced: {recorder.blocked}"
        status = SyncStatus.FAILED if done == 0 else SyncStatus.PARTIAL
        return status, "; ".join([summary, *notes])
    if stopped_by:
        written = totals["rows_created"] + totals["rows_updated"]
        status = SyncStatus.PARTIAL if written else SyncStatus.FAILED
        return status, "; ".join([stopped_by, *notes])
    if failed := totals["items_failed"]:
        summary = f"{failed} of {total} {noun}(s) failed, first: {recorder.first_error}"
        status = SyncStatus.FAILED if failed == total else SyncStatus.PARTIAL
        return status, "; ".join([summary, *notes])
    return SyncStatus.SUCCEEDED, "; ".join(notes)
