"""Ask the source for several funds' k-lines at a time, and keep asking while the caller writes."""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings

from etfs.providers.base import (
    DailyBarSource,
    KlineSeries,
    ProviderBlocked,
    ProviderDataError,
    ProviderError,
)

from .planning import FundPlan

# What a worker returns for a fund it did not ask for because a refusal was being checked.
_NOT_ASKED = object()


def fetch_klines_concurrently(
    plans: list[FundPlan],
    source: DailyBarSource,
    today: dt.date,
    stopped: Callable[[], bool],
) -> Iterator[tuple[FundPlan, KlineSeries | ProviderError]]:
    """Yield each fund's parsed k-lines (or its error) as it arrives.

    ETFSYNC_CONCURRENCY requests are in flight (the HTTP layer keeps the rate), and two
    batches of funds are asked for ahead of the one being written: the workers go on
    downloading and parsing while the caller writes (its database round trips let them run),
    and memory stays bounded by that look-ahead. Once ``stopped()`` is true no fund is asked
    for any more; when the caller stops early, the requests not started yet are dropped.

    From the moment one answer is a refusal (ProviderBlocked) no worker starts another
    request until the caller has looked at it: a caller that sees a ban stops; one that comes
    back for the next fund (the fund alone was refused) lets the held funds be asked. So a ban
    costs the refused request, the probe and the requests already in flight, whatever the
    rate limit (without one, the queued look-ahead would otherwise go out in the meantime).
    """
    workers = max(1, settings.ETFSYNC_CONCURRENCY)
    ahead = max(workers * 2, settings.ETFSYNC_PRICE_BATCH_ETFS * 2)
    waiting = iter(plans)
    held: list[FundPlan] = []  # not asked while a refusal was checked; asked again after
    refused = threading.Event()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="klines")
    in_flight: dict[Future, FundPlan] = {}
    # Each request's future as it completes: one get a fund, in the order they finish
    # (concurrent.futures.wait() over the 40 futures in flight locked each of them every time).
    finished: queue.SimpleQueue[Future] = queue.SimpleQueue()

    def ask(plan: FundPlan) -> KlineSeries | object:
        if refused.is_set():
            return _NOT_ASKED
        try:
            return source.daily_bars(plan.code, plan.exchange, plan.start, plan.end, today)
        except ProviderBlocked:
            refused.set()
            raise

    def ask_for_next() -> None:
        plan = held.pop(0) if held else next(waiting, None)
        if plan is not None and not stopped():
            future = pool.submit(ask, plan)
            in_flight[future] = plan
            future.add_done_callback(finished.put)

    try:
        for _ in range(ahead):
            ask_for_next()
        while in_flight:
            future = finished.get()
            plan = in_flight.pop(future)
            try:
                result = future.result()
            except ProviderBlocked as exc:
                yield plan, exc
                # The caller came back: not a ban. The held funds go out again.
                refused.clear()
                for _ in range(len(held) + 1):
                    ask_for_next()
                continue
            except ProviderError as exc:
                result = exc
            if result is _NOT_ASKED:
                held.append(plan)
                if not refused.is_set():  # the refusal was checked meanwhile
                    ask_for_next()
                continue
            yield plan, result
            ask_for_next()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
