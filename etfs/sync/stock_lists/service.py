"""The stock list sync: Eastmoney's four A-share boards decide what is listed; the exchanges'
own lists give listing dates, are compared with it, and name the delisted stocks.

- A stock on the primary list is listed, with its board (from its code), its ST flag (on the
  risk-warning board now) and its name; a new name is kept beside the old ones (SecurityName).
- A stock only an exchange lists is added (provider ``sse``/``szse``) and each difference is
  a warning on the run, as for funds.
- The exchanges' delisted lists (never Eastmoney's ``m:0 s:3`` board, which lists the OTC codes
  delisted companies trade under afterwards) mark stocks delisted with the exchange's date;
  their bars stay. A stock that leaves the primary list but is on no delisted list is handled
  as funds are: marked delisted only when the whole list arrived and did not shrink too much.
Only stock rows (``is_etf`` false) are read or written here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from etfs.models import StockInfo, SyncKind, SyncRun, SyncStatus
from etfs.providers.base import Listing, ProviderBlocked
from etfs.providers.stocks import ExchangeStockSource, StockListSource, StockProfile, board_of

from .. import list_reading
from ..calendar import shanghai_now
from ..cooldown import active_cooldown, describe, start_cooldown
from ..fund_rows import screen
from ..lists import ListOptions, ListSources, Progress, normalise_exchanges
from ..runs import Problem, RunRecorder, RunStopped, run_sync
from .rows import StockRow, mark_delisted, upsert_stocks


class StockListSources(ListSources):
    """The lists one run reads: the A-share boards (or none) and the exchanges' own."""

    primary_capability = StockListSource
    exchange_capability = ExchangeStockSource


@dataclass
class PrimaryStocks:
    name: str = ""
    listings: list[Listing] = field(default_factory=list)
    st: set[tuple[str, str]] | None = None  # None: the ST board could not be read
    rejected: set[str] = field(default_factory=set)
    failure: str = ""

    @property
    def complete(self) -> bool:
        return bool(self.name) and not self.failure


@dataclass
class ExchangeStocks:
    name: str
    listed: dict[str, StockProfile] = field(default_factory=dict)
    delisted: dict[str, StockProfile] = field(default_factory=dict)
    failure: str = ""


def sync_stock_lists(
    *,
    exchanges=None,
    run: SyncRun | None = None,
    trigger: str = "command",
    sources: StockListSources | None = None,
    progress: Progress | None = None,
) -> SyncRun:
    """Bring StockInfo's stock rows in line with the stock lists; return the finished run."""
    exchanges = normalise_exchanges(exchanges)

    def body(recorder: RunRecorder) -> tuple[str, str]:
        recorder.set_total(len(exchanges))
        return _sync(recorder, exchanges, sources or StockListSources.configured(), progress)

    return run_sync(SyncKind.STOCK_LISTS, body, {"exchanges": exchanges}, run=run, trigger=trigger)


def sync_stock_list_job(
    recorder: RunRecorder, options: ListOptions, *, sources: StockListSources | None = None
) -> tuple[str, str]:
    """The stock list job's body: the run's status and summary."""
    exchanges = list(options.exchanges)
    recorder.set_total(len(exchanges))
    sources = sources or StockListSources.configured()
    return _sync(recorder, exchanges, sources, recorder.progress)


def _sync(recorder, exchanges, sources: StockListSources, progress) -> tuple[str, str]:
    primary = _read_primary(recorder, sources.primary, exchanges, progress)
    own = list_reading.read_until_stopped(
        recorder, _read_exchange, sources.exchange_lists, exchanges
    )
    if recorder.stopped and primary.complete:  # stopped while the other lists were read
        primary.failure = "the ST board or the exchanges' lists were not all read"
    answered = [primary.name] * bool(primary.listings or primary.complete) + [
        found.name for found in own.values() if not found.failure
    ]
    recorder.set_provider(",".join(answered))
    problems = [primary.failure] if primary.failure else []
    notes = [found.failure for found in own.values() if found.failure]
    if not answered:
        return SyncStatus.FAILED, "; ".join(problems + notes) or "no stock list is configured"
    now = timezone.now()
    for exchange in exchanges:
        reason = _sync_exchange(recorder, exchange, primary, own.get(exchange), now)
        if reason:
            problems.append(reason)
    if not primary.complete:
        notes.append("nothing marked delisted but what the exchanges list as delisted")
    summary = "; ".join(problems + notes)
    if recorder.stopped:
        return list_reading.ended_as_stopped(recorder, summary)
    return SyncStatus.PARTIAL if problems else SyncStatus.SUCCEEDED, summary


def _read_primary(recorder, source: StockListSource | None, exchanges, progress):
    if source is None:
        return PrimaryStocks()
    result = PrimaryStocks(name=source.name)
    fetched, result.failure = list_reading.fetch_primary(
        recorder, source, source.stock_list, progress, "stock list page"
    )
    if fetched is None:
        return result
    wanted, others = [], []
    for item in fetched.listings:
        if item.exchange in exchanges:
            (wanted if board_of(item.code, item.exchange) else others).append(item)
    listings, problems = screen(wanted, source.name)
    recorder.record_rows(fetched.problems + problems)
    # The four boards hold A shares only: anything else is not stored.
    recorder.record(
        *(
            Problem.warning(
                f"{source.name} row {item.code}: not an A-share code of {item.exchange}; skipped",
                code=item.code,
            )
            for item in others
        )
    )
    result.listings = listings
    result.rejected = {p.code for p in fetched.problems + problems if p.code}
    if fetched.error is not None:
        recorder.record(Problem.of_error(fetched.error))
        result.failure = f"could not read the stock list: {fetched.error}"
    else:
        result.failure = list_reading.shortfall(fetched, "stocks")
    if not result.failure:
        result.st = _read_st(recorder, source)
    return result


def _read_st(recorder, source: StockListSource) -> set[tuple[str, str]] | None:
    """The risk-warning board now; None (ST flags kept as they are) when it failed or the run
    stopped while it was read."""
    try:
        fetched = source.st_list(on_page=recorder.stop_between_pages)
    except RunStopped:
        return None
    if fetched.error is not None or not fetched.complete:
        recorder.record(
            Problem.warning(
                f"could not read the risk-warning (ST) board: {fetched.error or 'incomplete'}; "
                "ST flags kept as they were"
            )
        )
        return None
    return {(item.code, item.exchange) for item in fetched.listings}


def _read_exchange(recorder, source: ExchangeStockSource) -> ExchangeStocks:
    result = ExchangeStocks(name=source.name)
    cooldown = active_cooldown(source.name)
    if cooldown is not None:
        result.failure = f"{source.name} stock list not asked: {describe(cooldown)}"
        recorder.record(Problem.warning(result.failure))
        return result
    fetched = source.stock_lists(on_page=recorder.stop_between_pages)
    for error in (fetched.error, fetched.delisted_error):
        if isinstance(error, ProviderBlocked):
            start_cooldown(source.name, str(error))
    recorder.record_rows(fetched.problems)
    label = source.name.upper()
    if fetched.error is not None:
        result.failure = f"could not read the {label} stock list: {fetched.error}"
        recorder.record(Problem.warning(result.failure))
        return result
    result.listed = {profile.code: profile for profile in fetched.listed}
    result.delisted = {profile.code: profile for profile in fetched.delisted}
    if fetched.delisted_error is not None:
        recorder.record(
            Problem.warning(f"could not read the {label} delisted list: {fetched.delisted_error}")
        )
    return result


def _sync_exchange(recorder, exchange, primary: PrimaryStocks, own: ExchangeStocks | None, now):
    """Merge, upsert, and mark delisted one exchange's stocks; the reason it held back, if any."""
    today = shanghai_now().date()
    listings = [item for item in primary.listings if item.exchange == exchange]
    rows = merge_stock_rows(listings, primary, own, exchange)
    if primary.complete and own is not None and not own.failure:
        primary_codes = {item.code for item in listings}
        list_reading.record_differences(
            recorder,
            (primary.name, primary_codes, primary.rejected),
            (own.name, set(own.listed) - set(own.delisted)),
        )
    delisted = _delisted_rows(own, {row.code for row in rows}, today)
    reason = ""
    with transaction.atomic():
        listed_before = StockInfo.objects.stocks(exchange).count()
        written = upsert_stocks(exchange, rows + delisted, now, today)
        gone = 0
        if primary.complete:
            reason = list_reading.delisting_held_back(
                exchange, len(listings), listed_before, "stocks"
            )
            if not reason:
                keep = {row.code for row in rows} | primary.rejected
                gone = mark_delisted(exchange, keep, now)
        recorder.count(
            items_done=1,
            rows_fetched=len(rows) + len(delisted),
            rows_created=written.created,
            rows_updated=written.updated,
            rows_unchanged=written.unchanged,
            rows_delisted=gone + written.delisted,
        )
        recorder.flush()
    return reason


def merge_stock_rows(listings, primary: PrimaryStocks, own: ExchangeStocks | None, exchange):
    """One row per listed stock either list names: the primary's name, the exchange's date."""
    profiles = own.listed if own is not None and not own.failure else None
    rows = []
    for item in listings:
        profile = profiles.get(item.code) if profiles is not None else None
        rows.append(
            StockRow(
                code=item.code,
                name=item.name,
                provider=primary.name,
                board=board_of(item.code, exchange),
                list_date=(profile.list_date if profile else None) or item.list_date,
                is_st=None if primary.st is None else (item.code, exchange) in primary.st,
                on_exchange_list=(item.code in profiles) if profiles is not None else None,
            )
        )
    named = {item.code for item in listings}
    for code, profile in sorted((profiles or {}).items()):
        if code not in named and code not in (own.delisted if own else {}):
            rows.append(
                StockRow(
                    code=code,
                    name=profile.name,
                    provider=own.name,
                    board=board_of(code, exchange),
                    list_date=profile.list_date,
                    on_exchange_list=True,
                )
            )
    return rows


def _delisted_rows(own: ExchangeStocks | None, listed: set[str], today: dt.date):
    """The exchange's delisted stocks, unless the primary list still trades them (the
    delisting period) or their date is still to come."""
    if own is None or own.failure:
        return []
    return [
        StockRow(
            code=code,
            name=profile.name,
            provider=own.name,
            board=board_of(code, profile.exchange),
            list_date=profile.list_date,
            delist_date=profile.delist_date,
        )
        for code, profile in sorted(own.delisted.items())
        if code not in listed and profile.delist_date and profile.delist_date <= today
    ]
