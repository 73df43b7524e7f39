"""The price job: what the registry knows of the price sync."""

from __future__ import annotations

from django.conf import settings

from etfs.models import StockInfo, SyncKind

from ..job import Job, ScheduleSpec, Split
from ..price_plan import plan_price_run
from ..universe import ETFS, Universe
from .planning import PriceOptions, failed_in_last_price_run, price_kind, securities_to_plan
from .service import sync_prices


def split_prices(options: PriceOptions, universe: Universe = ETFS) -> Split | None:
    """More securities than one chunk takes: chunks of ETFSYNC_PRICE_CHUNK_ETFS codes each.

    Funds that failed last time go into the last chunks (each chunk orders its own the same
    way), so that whatever is wrong with them meets the others only after those are done.
    """
    planned = securities_to_plan(options, universe)
    codes = list(options.codes) or list(
        planned.order_by("code").values_list("code", flat=True).distinct()
    )
    size = settings.ETFSYNC_PRICE_CHUNK_ETFS
    if len(codes) <= size:
        return None
    failed = StockInfo.objects.filter(pk__in=failed_in_last_price_run(price_kind(universe)))
    failed_codes = set(failed.values_list("code", flat=True))
    codes.sort(key=lambda code: code in failed_codes)
    parameters = options.as_parameters()
    chunks = [
        PriceOptions.from_parameters({**parameters, "codes": codes[start : start + size]})
        for start in range(0, len(codes), size)
    ]
    return Split(len(codes), chunks)


# The day's bars after the close come from the full sync's daily update (its ETF step takes
# them from the list endpoint), not from a schedule of this job: one run of each a day. The
# Saturday run re-reads each fund's recent bars (the look-back window) from the k-line endpoint
# to pick up the source's corrections.
JOB = Job(
    kind=SyncKind.ETF_PRICES,
    options=PriceOptions,
    run=sync_prices,
    button="Sync all ETF prices…",
    slug="prices",
    schedules=(
        ScheduleSpec(
            "etfsync: ETF price corrections (Saturdays)", "0 9 * * 6", trading_days_only=False
        ),
    ),
    split=split_prices,
    plan=plan_price_run,
    universe=ETFS,
)
