"""The price sync service: plan the funds, take what one list pass gives, fetch the rest, write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from etfs.models import SyncKind, SyncRun, SyncStatus, SyncTrigger
from etfs.providers.base import (
    Bar,
    BarRows,
    DailyBarSource,
    ListPassBarSource,
    ProviderBlocked,
    ProviderError,
)

from ..calendar import last_final_day, previous_trading_day, shanghai_now
from ..jumps import check_list_previous_closes
from ..runs import Progress, RunRecorder, run_sync
from ..sources import provider_for
from .fetching import confirmed_ban, fetch_klines_concurrently, refused_fund_alone
from .planning import FundPlan, PriceOptions, plan_funds
from .writing import BarBatches


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
        recorder.progress = progress
        return _sync(recorder, options, bar_source, list_pass, now)

    return run_sync(SyncKind.ETF_PRICES, body, options.as_parameters(), run=run, trigger=trigger)


def _sync(recorder: RunRecorder, options: PriceOptions, bars, list_pass, now) -> tuple[str, str]:
    final_day = last_final_day(now)
    today = shanghai_now(now).date()
    plans, notes = plan_funds(options, final_day)
    if not plans and not options.codes:
        return SyncStatus.SUCCEEDED, "no listed ETFs to sync yet: run the ETF list sync first"
    recorder.set_total(len(plans))
    if notes:
        recorder.problems([(note, "", "warning", "", None) for note in notes])
    pending = [plan for plan in plans if plan.start <= plan.end]
    recorder.items_skipped(len(plans) - len(pending))
    if pending and recorder.check_stop(force=True):
        return price_run_outcome(recorder)
    batches = BarBatches(recorder)
    if options.from_list and options.incremental and final_day == today and pending:
        list_pass = list_pass or provider_for(ListPassBarSource)
        pending = take_bars_from_list(recorder, batches, pending, list_pass, final_day)
    if not recorder.stopped:
        store_klines(recorder, batches, pending, bars, today)
    return price_run_outcome(recorder)


def take_bars_from_list(
    recorder: RunRecorder,
    batches: BarBatches,
    plans: list[FundPlan],
    source: ListPassBarSource,
    day: dt.date,
) -> list[FundPlan]:
    """After the close, one pass over the list gives the day's bar of every ETF that traded.

    Funds that have the day's bar already are done; funds whose last stored bar is the
    previous trading day take it from the list; the others (and funds without a bar in the
    list) go on to the k-line endpoint. Returns those.
    """
    current = [plan for plan in plans if plan.last is not None and plan.last >= day]
    recorder.items_skipped(len(current))
    plans = [plan for plan in plans if plan.last is None or plan.last < day]
    previous = previous_trading_day(day)
    one_behind = {(plan.code, plan.exchange): plan for plan in plans if plan.last == previous}
    if not one_behind:
        return plans
    fetched = source.day_bars(day, on_page=lambda *_: recorder.beat())
    if isinstance(fetched.error, ProviderBlocked):
        recorder.blocked_by(fetched.error, source.name)
    elif fetched.error is not None:
        recorder.problem(
            f"daily list pass failed, using k-lines: {fetched.error}", severity="warning"
        )
    covered: list[tuple[FundPlan, Sequence[Bar]]] = [
        (one_behind[key], [bar]) for key, bar in fetched.bars.items() if key in one_behind
    ]
    recorder.count(rows_fetched=len(covered))
    batches.write_entries(covered)
    check_list_previous_closes(recorder, one_behind, fetched.previous_closes, day)
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
    for plan, result in fetch_klines_concurrently(plans, source, today, lambda: recorder.stopped):
        if isinstance(result, ProviderBlocked):
            if confirmed_ban(source, result, today):
                recorder.blocked_by(result)
                break  # a ban: stop asking; the funds not fetched yet stay for the next run
            result = refused_fund_alone(result)
        if isinstance(result, ProviderError):
            recorder.item_failed(plan.code, result, security_id=plan.security_id)
            continue
        recorder.row_problems(result.problems, plan.security_id)
        rejected = sum(problem.fatal for problem in result.problems)
        # A source that ignores `end` may send the day in progress: it is not final yet.
        bars = _until(result.bars, plan.end)
        recorder.count(
            rows_fetched=len(bars),
            rows_rejected=rejected,
            warnings=len(result.problems) - rejected,
        )
        # After a batch, the full check: with batches written more often than once a second,
        # the clock alone would never let a cancel or another worker's ban through.
        if recorder.check_stop(force=batches.add(plan, bars)):
            break  # at an ETF boundary; what was fetched is still written below
    batches.write()


def _until(bars: Sequence[Bar], day: dt.date) -> Sequence[Bar]:
    if isinstance(bars, BarRows):
        return bars.until(day)
    return [bar for bar in bars if bar.trade_date <= day]


def price_run_outcome(recorder: RunRecorder) -> tuple[str, str]:
    """The run's status and summary from what the recorder counted."""
    recorder.flush()
    totals, total = recorder.totals, recorder.run.items_total
    notes = []
    if totals["rows_rejected"]:
        notes.append(f"{totals['rows_rejected']} bar(s) rejected by sanity checks")
    if totals["warnings"]:
        notes.append(f"{totals['warnings']} warning(s), e.g. suspicious units")
    if recorder.cancelled:
        return SyncStatus.CANCELLED, "; ".join(["cancelled on request", *notes])
    if recorder.blocked:
        done = totals["items_done"]
        summary = f"stopped, {total - done} of {total} ETF(s) not synced: {recorder.blocked}"
        status = SyncStatus.FAILED if done == 0 else SyncStatus.PARTIAL
        return status, "; ".join([summary, *notes])
    if failed := totals["items_failed"]:
        summary = f"{failed} of {total} ETF(s) failed, first: {recorder.first_error}"
        status = SyncStatus.FAILED if failed == total else SyncStatus.PARTIAL
        return status, "; ".join([summary, *notes])
    return SyncStatus.SUCCEEDED, "; ".join(notes)
