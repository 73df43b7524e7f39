"""The stock price job: what the registry knows of the price sync of stocks."""

from __future__ import annotations

from functools import partial

from etfs.models import SyncKind

from ..job import Job, ScheduleSpec
from ..price_plan import plan_price_run
from ..prices.job import split_prices
from ..prices.planning import PriceOptions
from ..prices.service import sync_prices
from ..universe import STOCKS

# As for ETFs: the daily run (the full sync's after-close update) takes the day from one pass
# over the list (about 54 pages for 5,300 stocks); the Saturday run re-reads the look-back
# window through the k-lines.
JOB = Job(
    kind=SyncKind.STOCK_PRICES,
    options=PriceOptions,
    run=partial(sync_prices, universe=STOCKS),
    button="Sync all stock prices…",
    slug="stock-prices",
    # The after-close pass is the full sync's daily update (etfs/sync/full_sync).
    schedules=(
        ScheduleSpec(
            "etfsync: stock price corrections (Saturdays)", "30 9 * * 6", trading_days_only=False
        ),
    ),
    split=partial(split_prices, universe=STOCKS),
    plan=partial(plan_price_run, universe=STOCKS),
    universe=STOCKS,
)
