"""Writing the stock list sync's stocks: a race-safe upsert of stock rows only, their names
history, and marking delisted (never deleting: their bars stay).

As for funds (etfs/sync/fund_rows.py): new rows are inserted with ON CONFLICT DO NOTHING, then
the rows are locked in primary-key order and compared, so two list runs wait for each other
instead of failing on the unique key. A stored ETF with the same code and exchange is never
touched: that row belongs to the ETF universe.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from etfs.models import ListingStatus, StockInfo

from ..names import record_names
from ..universe import STOCKS

WRITTEN_FIELDS = (
    "name",
    "board",
    "is_st",
    "list_date",
    "delist_date",
    "status",
    "delisted_at",
    "on_exchange_list",
    "last_seen_at",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class StockRow:
    """One stock as the list sync will store it, merged from the lists that named it."""

    code: str
    name: str
    provider: str
    board: str
    list_date: dt.date | None = None
    delist_date: dt.date | None = None  # set: on an exchange's delisted list
    is_st: bool | None = None  # None: the ST board was not read; keep the stored flag
    on_exchange_list: bool | None = None


@dataclass
class Upserted:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    delisted: int = 0  # stored listed, now on a delisted list


def upsert_stocks(exchange: str, rows: list[StockRow], now, today: dt.date) -> Upserted:
    """Insert new stocks and update changed ones, and say how many of each.

    Runs inside the caller's transaction. Names that changed are added to the names history.
    """
    taken = STOCKS.taken(exchange, [row.code for row in rows])
    rows = sorted((row for row in rows if row.code not in taken), key=lambda row: row.code)
    stored = STOCKS.writable(exchange, [row.code for row in rows])
    known = set(stored.values_list("code", flat=True))
    new = [_new_stock(exchange, row, now) for row in rows if row.code not in known]
    StockInfo.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    locked = {stock.code: stock for stock in stored.select_for_update().order_by("pk")}
    result = Upserted()
    updates, unchanged_ids = [], []
    for row in rows:
        stock = locked.get(row.code)
        if stock is None:
            continue  # an ETF took the code and exchange meanwhile: not ours
        if stock.first_seen_at == now and row.code not in known:
            result.created += 1
            continue
        was_listed = stock.status == ListingStatus.LISTED
        if _apply(stock, row, now):
            result.updated += 1
            result.delisted += was_listed and stock.status == ListingStatus.DELISTED
            updates.append(stock)
        else:
            unchanged_ids.append(stock.pk)
    StockInfo.objects.bulk_update(updates, WRITTEN_FIELDS, batch_size=500)
    for start in range(0, len(unchanged_ids), 900):
        chunk = unchanged_ids[start : start + 900]
        StockInfo.objects.filter(pk__in=chunk).update(last_seen_at=now)
    result.unchanged = len(unchanged_ids)
    named = [locked[row.code] for row in rows if row.code in locked]
    record_names(((stock.pk, stock.name) for stock in named), today)
    return result


def _new_stock(exchange: str, row: StockRow, now) -> StockInfo:
    delisted = row.delist_date is not None
    return StockInfo(
        code=row.code,
        exchange=exchange,
        name=row.name or row.code,
        is_etf=False,
        board=row.board,
        is_st=bool(row.is_st),
        list_date=row.list_date,
        delist_date=row.delist_date,
        status=ListingStatus.DELISTED if delisted else ListingStatus.LISTED,
        delisted_at=now if delisted else None,
        provider=row.provider,
        on_exchange_list=row.on_exchange_list,
        first_seen_at=now,
        last_seen_at=now,
    )


def _apply(stock: StockInfo, row: StockRow, now) -> bool:
    """Bring a stored stock in line with the row; True when anything changed."""
    before = [getattr(stock, field) for field in WRITTEN_FIELDS[:-2]]
    if row.name:
        stock.name = row.name
    stock.board = row.board or stock.board
    if row.is_st is not None:
        stock.is_st = row.is_st
    stock.list_date = row.list_date or stock.list_date
    if row.delist_date is not None:
        if stock.status != ListingStatus.DELISTED:
            stock.status, stock.delisted_at = ListingStatus.DELISTED, now
        stock.delist_date = row.delist_date
    elif stock.status != ListingStatus.LISTED:
        # Back on a list: listed again (a delisting date the exchange gave stays a fact).
        stock.status, stock.delisted_at = ListingStatus.LISTED, None
    if row.on_exchange_list is not None:
        stock.on_exchange_list = row.on_exchange_list
    if before == [getattr(stock, field) for field in WRITTEN_FIELDS[:-2]]:
        return False
    stock.last_seen_at = stock.updated_at = now
    return True


def mark_delisted(exchange: str, keep: set[str], now) -> int:
    """Mark the listed stocks of ``exchange`` not in ``keep`` delisted; never delete them."""
    missing = StockInfo.objects.stocks(exchange).exclude(code__in=keep)
    return missing.update(status=ListingStatus.DELISTED, delisted_at=now, updated_at=now)
