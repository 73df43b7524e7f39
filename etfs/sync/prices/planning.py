"""Which securities (ETFs or stocks) a price run asks for, and from which day: the run's
options and each security's plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from etfs.models import ListingStatus, StockInfo, SyncKind, SyncRun

from ..universe import ETFS, Universe

# Eastmoney's k-line history of the oldest funds begins in the 2000s; "from listing".
EARLIEST = dt.date(1990, 12, 19)


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
    """One fund of a run: what to ask the source for."""

    security_id: int
    code: str
    exchange: str
    start: dt.date
    end: dt.date
    last: dt.date | None = None  # the newest bar stored when the run began
    # A delisted security's delisting date: its history ends there, and an answer without a
    # single row is a fact about it (long-delisted stocks have none at the source).
    delisted_on: dt.date | None = None


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def plan_funds(
    options: PriceOptions, final_day: dt.date, universe: Universe = ETFS
) -> tuple[list[FundPlan], list[str]]:
    """Which securities of the universe to fetch and from when: each from its own last bar
    (the kept ``last_bar_date``, which every write of bars updates) minus the look-back.

    Delisted securities with the exchange's delisting date are fetched up to that date while
    they have no bars yet (or when a run asks for a range or everything); one the source had
    no history for at all is not asked again.
    """
    securities = securities_to_plan(options, universe)
    notes = []
    if options.codes:
        securities = universe.every().filter(code__in=options.codes)
        missing = sorted(set(options.codes) - set(securities.values_list("code", flat=True)))
        if missing:
            notes.append(f"unknown {universe.noun} code(s), skipped: {', '.join(missing)}")
    securities = list(
        securities.order_by("code", "exchange").values_list(
            "id", "code", "exchange", "last_bar_date", "status", "delist_date"
        )
    )
    end = min(options.end or final_day, final_day)
    lookback = dt.timedelta(days=settings.ETFSYNC_LOOKBACK_DAYS)
    first_year = options.start_year or settings.ETFSYNC_START_YEAR
    plans = []
    for security_id, code, exchange, last, status, delist_date in securities:
        if options.full:
            start = EARLIEST
        elif options.start:
            start = options.start
        elif last:
            start = last - lookback
        else:
            start = dt.date(first_year, 1, 1)
        delisted_on = delist_date if status == ListingStatus.DELISTED else None
        until = min(end, delisted_on) if delisted_on else end
        plans.append(FundPlan(security_id, code, exchange, start, until, last, delisted_on))
    # Funds that failed last time go last (in code order still), so that whatever is wrong with
    # them meets the others only after those are done.
    failed_before = failed_in_last_price_run(price_kind(universe))
    plans.sort(key=lambda plan: plan.security_id in failed_before)
    return plans, notes


def securities_to_plan(options: PriceOptions, universe: Universe):
    """A run without codes: the listed securities, and the delisted ones whose history (up to
    the exchange's delisting date) is still to fetch or asked for again."""
    delisted = Q(delist_date__isnull=False, history_unavailable_at__isnull=True)
    if not (options.full or options.start):
        delisted &= Q(bar_count=0)  # a delisted history, once fetched, does not change
    return universe.every().filter(Q(status=ListingStatus.LISTED) | delisted)


def price_kind(universe: Universe) -> str:
    """The run kind of a universe's price sync."""
    return SyncKind.ETF_PRICES if universe.is_etf else SyncKind.STOCK_PRICES


def failed_in_last_price_run(kind: str = SyncKind.ETF_PRICES) -> set[int]:
    """The securities with an error on the last finished price run of ``kind``."""
    return SyncRun.objects.failed_securities(kind)


def record_missing_history(plan: FundPlan, bars, problems) -> bool:
    """A delisted security without a bar that the source answered without a single row: the
    source has no history of it (long-delisted stocks answer so, akshare #4318). Recorded once
    on the security, which later runs then leave out; True when it was recorded."""
    if plan.delisted_on is None or plan.last is not None or len(bars) or problems:
        return False
    StockInfo.objects.filter(pk=plan.security_id, history_unavailable_at__isnull=True).update(
        history_unavailable_at=timezone.now()
    )
    return True
