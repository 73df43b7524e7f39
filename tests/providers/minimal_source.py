"""A second source in one module, to prove the contract: a fund list and daily bars, served
from its ``OPTIONS["FUNDS"]`` (in the short form ``settings.MINIMAL_SOURCE_FUNDS``) instead of
a network (tests set it).

Nothing else in the project names this module; one configuration entry is all it takes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from etfs.providers.base import (
    Bar,
    DailyBarSource,
    FundListSource,
    KlineSeries,
    ListFetch,
    Listing,
    ProviderDataError,
    checked_bars,
)


class MinimalSource(FundListSource, DailyBarSource):
    name = "minimal"

    def __init__(self, funds: dict[tuple[str, str], tuple[str, list[tuple]]]):
        # (code, exchange) -> (name, [(date, open, high, low, close, volume, amount), ...])
        self.funds = funds

    @classmethod
    def from_options(cls, options, http) -> MinimalSource:
        return cls(options["FUNDS"])

    @classmethod
    def short_form_options(cls, settings) -> dict:
        return {"FUNDS": settings.MINIMAL_SOURCE_FUNDS}

    def fund_list(self, on_page=None) -> ListFetch:
        listings = [
            Listing(code, exchange, name) for (code, exchange), (name, _) in self.funds.items()
        ]
        return ListFetch(listings=listings, reported_total=len(listings), pages=1)

    def daily_bars(self, code, exchange, start, end, today) -> KlineSeries:
        if (code, exchange) not in self.funds:
            raise ProviderDataError(f"minimal: no fund {code}.{exchange}")
        rows = [
            Bar(dt.date.fromisoformat(day), *map(Decimal, prices), volume, Decimal(amount))
            for day, *prices, volume, amount in self.funds[code, exchange][1]
        ]
        rows = [bar for bar in rows if start <= bar.trade_date <= end]
        bars, problems = checked_bars(rows, code, f"minimal {code}", today)
        return KlineSeries(code=code, exchange=exchange, bars=bars, problems=problems)
