"""The price sync: daily bars for every listed ETF (or stock), incremental, concurrent, in batches.

One job per module: ``planning`` decides which funds to ask for and from when, ``fetching``
asks the source for several funds at a time, ``writing`` commits the bars in batches with the
run's counters, and ``service`` runs the three under one run (``RunRecorder`` counts).
"""

from .planning import FundPlan, PriceOptions, plan_funds
from .service import sync_etf_prices, sync_stock_prices, sync_universe_prices

__all__ = [
    "FundPlan",
    "PriceOptions",
    "plan_funds",
    "sync_etf_prices",
    "sync_stock_prices",
    "sync_universe_prices",
]
