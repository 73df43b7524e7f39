"""The ETF list sync: fetch both exchanges' fund lists, upsert them, mark funds that left."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from etfs.models import Exchange, ListingStatus, StockInfo, SyncKind, SyncRun, SyncStatus
from etfs.providers.base import FundListSource, Listing, ProviderBlocked

from .cooldown import active_cooldown, describe, start_cooldown
from .runs import RunRecorder, run_sync
from .sources import provider_for

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


def normalise_exchanges(exchanges: Iterable[str] | None) -> list[str]:
    chosen = sorted({exchange.upper() for exchange in exchanges or Exchange.values})
    unknown = [exchange for exchange in chosen if exchange not in Exchange.values]
    if unknown:
        raise ValueError(
            f"unknown exchange {', '.join(unknown)}; choose from {', '.join(Exchange.values)}"
        )
    return chosen


def sync_etf_lists(
    *,
    exchanges: Iterable[str] | None = None,
    run: SyncRun | None = None,
    trigger: str = "command",
    source: FundListSource | None = None,
    progress: Progress | None = None,
) -> SyncRun:
    """Bring StockInfo's ETF rows in line with the source's fund list; return the run.

    ``source`` is the list to follow (the configured one when not given).
    """
    exchanges = normalise_exchanges(exchanges)

    def body(recorder: RunRecorder) -> tuple[str, str]:
        recorder.set_total(len(exchanges))
        list_source = source or provider_for(FundListSource)
        recorder.set_provider(list_source.name)
        return _sync(recorder, exchanges, list_source, progress)

    return run_sync(SyncKind.ETF_LISTS, body, {"exchanges": exchanges}, run=run, trigger=trigger)


def _sync(recorder: RunRecorder, exchanges, source: FundListSource, progress) -> tuple[str, str]:
    def on_page(page: int, covered: int, total: int) -> None:
        recorder.beat()
        if progress:
            progress(covered, total, f"list page {page}")

    cooldown = active_cooldown(source.name)
    if cooldown is not None:
        recorder.problem(describe(cooldown))
        return SyncStatus.FAILED, f"not started: {describe(cooldown)}"
    fetched = source.fund_list(on_page=on_page)
    if isinstance(fetched.error, ProviderBlocked):
        start_cooldown(source.name, str(fetched.error))
    listings = [item for item in fetched.listings if item.exchange in exchanges]
    recorder.row_problems(fetched.problems)
    recorder.add(
        rows_fetched=len(listings),
        rows_rejected=sum(problem.fatal for problem in fetched.problems),
    )
    reasons = []
    if fetched.error is not None:
        if fetched.pages:
            reasons.append(f"the list stopped after {fetched.pages} page(s): {fetched.error}")
        else:
            reasons.append(f"could not fetch the ETF list: {fetched.error}")
    elif not fetched.complete:
        reasons.append(
            f"the source reported {fetched.reported_total} funds but paging returned "
            f"{len(fetched.listings)}"
        )
    may_delist = not reasons
    if fetched.error is not None:
        recorder.problem(str(fetched.error), detail=getattr(fetched.error, "body", "") or "")
        if not fetched.listings:
            return SyncStatus.FAILED, reasons[0]
    now = timezone.now()
    # A fund whose row was rejected is still on the source's list: never delist it for that.
    still_listed = {problem.code for problem in fetched.problems if problem.code}
    for exchange in exchanges:
        batch = [item for item in listings if item.exchange == exchange]
        reason = _sync_exchange(recorder, exchange, batch, now, may_delist, still_listed)
        if reason:
            reasons.append(reason)
    return (SyncStatus.PARTIAL if reasons else SyncStatus.SUCCEEDED), "; ".join(reasons)


def _sync_exchange(
    recorder, exchange: str, batch: list[Listing], now, may_delist: bool, still_listed: set[str]
) -> str:
    """Upsert one exchange's funds and delist the missing ones, in one transaction."""
    with transaction.atomic():
        listed_before = StockInfo.objects.etfs(exchange).count()
        created, updated, unchanged = upsert_listings(exchange, batch, now)
        reason, delisted = "", 0
        if not batch:
            reason = f"{exchange}: the source listed no funds; nothing marked delisted"
        elif may_delist:
            guard = settings.ETFSYNC_LIST_SHRINK_GUARD
            if len(batch) < listed_before * guard:
                reason = (
                    f"{exchange}: the new list has {len(batch)} funds against {listed_before} "
                    f"listed before (below {guard:.0%}); nothing marked delisted"
                )
            else:
                codes = {item.code for item in batch} | still_listed
                delisted = mark_missing_delisted(exchange, codes, now)
        recorder.add(
            items_done=1,
            rows_created=created,
            rows_updated=updated,
            rows_unchanged=unchanged,
            rows_delisted=delisted,
        )
    logger.info(
        "%s: %d created, %d updated, %d unchanged, %d delisted",
        exchange,
        created,
        updated,
        unchanged,
        delisted,
    )
    return reason


def upsert_listings(exchange: str, batch: list[Listing], now) -> tuple[int, int, int]:
    """Insert new funds and update changed ones in bulk; return (created, updated, unchanged)."""
    codes = [item.code for item in batch]
    existing = {
        security.code: security
        for security in StockInfo.objects.filter(exchange=exchange, code__in=codes)
    }
    new, changed, unchanged_ids = [], [], []
    for item in batch:
        security = existing.get(item.code)
        if security is None:
            new.append(
                StockInfo(
                    code=item.code,
                    exchange=exchange,
                    name=item.name,
                    is_etf=True,
                    status=ListingStatus.LISTED,
                    first_seen_at=now,
                    last_seen_at=now,
                )
            )
        elif (
            security.name != item.name
            or not security.is_etf
            or security.status != ListingStatus.LISTED
        ):
            security.name = item.name
            security.is_etf = True
            security.status = ListingStatus.LISTED
            security.delisted_at = None
            security.last_seen_at = now
            security.updated_at = now
            changed.append(security)
        else:
            unchanged_ids.append(security.pk)
    StockInfo.objects.bulk_create(new, batch_size=500)
    StockInfo.objects.bulk_update(
        changed,
        ["name", "is_etf", "status", "delisted_at", "last_seen_at", "updated_at"],
        batch_size=500,
    )
    for start in range(0, len(unchanged_ids), 900):
        StockInfo.objects.filter(pk__in=unchanged_ids[start : start + 900]).update(last_seen_at=now)
    return len(new), len(changed), len(unchanged_ids)


def mark_missing_delisted(exchange: str, codes: set[str], now) -> int:
    missing = StockInfo.objects.etfs(exchange).exclude(code__in=codes)
    return missing.update(status=ListingStatus.DELISTED, delisted_at=now, updated_at=now)
