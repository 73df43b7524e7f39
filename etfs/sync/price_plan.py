"""What a price run would do, before it does it: no request to the source at all.

`sync_etf_prices --dry-run` prints it and the admin's price-sync confirmation shows it, so that
nobody starts 1,300 k-line requests (22 minutes at the polite rate) by accident.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings

from .calendar import UnknownDay, last_final_day, newest_known_final_day, previous_trading_day
from .prices import PriceOptions, plan_funds
from .prices.service import list_pass_source
from .universe import ETFS, Universe


@dataclass(frozen=True, slots=True)
class PricePlan:
    final_day: dt.date | None
    today_unknown: bool  # the calendar does not know today: the run asks the source first
    up_to_date: int
    behind: int
    empty: int
    list_requests: int
    kline_requests: int
    rate_limit: float
    noun: str = "ETFs"  # what is counted, in the plural

    @property
    def requests(self) -> int:
        return self.list_requests + self.kline_requests

    @property
    def seconds(self) -> float:
        return self.requests / self.rate_limit if self.rate_limit > 0 else 0.0

    def lines(self) -> list[str]:
        pace = (
            f"about {_duration(self.seconds)} at {self.rate_limit:g} request(s)/s"
            if self.rate_limit > 0
            else "no rate limit set"
        )
        lines = [
            f"last final day: {self.final_day or 'unknown'}"
            + (
                " (today is not in the calendar yet: the run asks the source first)"
                if self.today_unknown
                else ""
            ),
            f"{self.noun}: {self.up_to_date} up to date, {self.behind} behind, "
            f"{self.empty} without bars",
            f"requests: {self.list_requests} list page(s) + {self.kline_requests} k-line(s) = "
            f"{self.requests}, {pace}",
        ]
        return lines


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def plan_price_run(
    options: PriceOptions, now: dt.datetime | None = None, universe: Universe = ETFS
) -> PricePlan:
    try:
        final_day, today_unknown = last_final_day(now), False
    except UnknownDay:
        final_day, today_unknown = newest_known_final_day(now), True
    plans, _ = plan_funds(options, final_day, universe) if final_day else ([], [])
    holding = [plan for plan in plans if plan.last is not None and plan.last >= final_day]
    empty = [plan for plan in plans if plan.last is None]
    pending = [plan for plan in plans if plan.start <= plan.end]
    list_requests, kline_requests = 0, len(pending)
    if options.from_list and options.incremental and final_day:
        # Funds one day behind take the day from the list; funds holding it are not asked.
        previous = final_day if today_unknown else previous_trading_day(final_day)
        from_list = [plan for plan in pending if plan.last == previous]
        waiting = [plan for plan in pending if plan.last is None or plan.last < final_day]
        kline_requests = sum(plan.last != previous for plan in waiting)
        if from_list:
            listed = universe.securities().count()
            rows = list_pass_source(universe).rows_per_request
            list_requests = max(1, math.ceil(listed / rows))
    return PricePlan(
        noun=universe.name,
        final_day=final_day,
        today_unknown=today_unknown,
        up_to_date=len(holding),
        behind=len(plans) - len(holding) - len(empty),
        empty=len(empty),
        list_requests=list_requests,
        # A k-line run on a day the calendar does not know first reads the index once.
        kline_requests=kline_requests + int(today_unknown and not options.from_list),
        rate_limit=settings.ETFSYNC_RATE_LIMIT,
    )
