"""Writing the list sync's funds: screening rows against the columns, a race-safe upsert.

Two list syncs may write the same exchange at once (``--exchange XSHG`` beside a full run), so
new funds are inserted with ON CONFLICT DO NOTHING, and the rows are then locked in primary-key
order before they are compared and updated: the second writer waits for the first instead of
failing on the unique key, and the two cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from etfs.codes import CODE_RULE, is_security_code
from etfs.models import ListingStatus, StockInfo
from etfs.providers.base import FundProfile, RowProblem, source_row

from .universe import ETFS

NAME_MAX_LENGTH = StockInfo._meta.get_field("name").max_length
PROFILE_FIELDS = (
    "list_date",
    "category",
    "tracking_index_code",
    "tracking_index_name",
    "fund_manager",
)
WRITTEN_FIELDS = (
    "name",
    "is_etf",
    "status",
    "delisted_at",
    "on_exchange_list",
    *PROFILE_FIELDS,
    "last_seen_at",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class FundRow:
    """One fund as the list sync will store it, merged from the lists that named it."""

    code: str
    name: str  # empty: keep the stored name (an exchange list never renames a fund)
    provider: str  # who lists it, for a fund stored for the first time
    profile: FundProfile | None = None
    on_exchange_list: bool | None = None  # None: the exchange's list was not read


def mojibake_repair(text: str) -> str | None:
    """What ``text`` said before UTF-8 bytes were read as Latin-1 or Windows-1252, or None
    when it is no such mojibake ("æ²ªæ·±300ETF" -> "沪深300ETF"; "Café" and Chinese text are
    not: they do not survive the round trip)."""
    for codec in ("latin-1", "cp1252"):
        try:
            repaired = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if repaired != text:
            return repaired
    return None


def screen(records: Iterable, source: str) -> tuple[list, list[RowProblem]]:
    """Keep the records the columns can hold; each other one is a rejected row of its own.

    A code that is not six ASCII digits, a name longer than the column (a garbled answer: no
    fund is named that long), a code a second time in one answer (the first row is kept).
    """
    kept, problems, seen = [], [], set()
    for record in records:
        code, where = record.code, f"{source} row {record.code}"
        if not is_security_code(code):
            reason = f"{source} row: code {code!r} is not {CODE_RULE}"
        elif len(record.name) > NAME_MAX_LENGTH:
            reason = (
                f"{where}: the name has {len(record.name)} characters, more than the "
                f"{NAME_MAX_LENGTH} a name can have"
            )
        elif (code, record.exchange) in seen:
            reason = f"{where}: listed twice in one answer; the first row was kept"
        else:
            seen.add((code, record.exchange))
            kept.append(record)
            continue
        problems.append(
            RowProblem(reason + "; row rejected", code=code[:20], row=source_row(asdict(record)))
        )
    return kept, problems


def upsert_funds(exchange: str, rows: list[FundRow], now) -> tuple[int, int, int]:
    """Insert new funds and update changed ones in bulk; return (created, updated, unchanged).

    Runs inside the caller's transaction. A code a stock holds on the exchange is left alone
    (see ``Universe.taken``).
    """
    taken = ETFS.taken(exchange, [row.code for row in rows])
    rows = sorted((row for row in rows if row.code not in taken), key=lambda row: row.code)
    stored = ETFS.writable(exchange, [row.code for row in rows])
    known = set(stored.values_list("code", flat=True))
    new = [_new_fund(exchange, row, now) for row in rows if row.code not in known]
    # Another list sync may have inserted some of them since: those rows are skipped here
    # and compared below like any stored fund.
    StockInfo.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    locked = {fund.code: fund for fund in stored.select_for_update().order_by("pk")}
    created = changed = 0
    updates, unchanged_ids = [], []
    for row in rows:
        fund = locked.get(row.code)
        if fund is None:
            continue  # a stock took the code and exchange meanwhile: not ours
        if fund.first_seen_at == now and row.code not in known:
            created += 1  # ours: first seen at this run's time
        elif _apply(fund, row, now):
            changed += 1
            updates.append(fund)
        else:
            unchanged_ids.append(fund.pk)
    StockInfo.objects.bulk_update(updates, WRITTEN_FIELDS, batch_size=500)
    for start in range(0, len(unchanged_ids), 900):
        StockInfo.objects.filter(pk__in=unchanged_ids[start : start + 900]).update(last_seen_at=now)
    return created, changed, len(unchanged_ids)


def _new_fund(exchange: str, row: FundRow, now) -> StockInfo:
    fund = StockInfo(
        code=row.code,
        exchange=exchange,
        name=row.name or (row.profile.name if row.profile else row.code),
        is_etf=True,
        status=ListingStatus.LISTED,
        provider=row.provider,
        on_exchange_list=row.on_exchange_list,
        first_seen_at=now,
        last_seen_at=now,
    )
    _apply_profile(fund, row.profile)
    return fund


def _apply(fund: StockInfo, row: FundRow, now) -> bool:
    """Bring a stored fund in line with the row; True when anything changed."""
    before = [getattr(fund, field) for field in WRITTEN_FIELDS[:-2]]
    if row.name:
        fund.name = row.name
    fund.is_etf = True
    if fund.status != ListingStatus.LISTED:
        fund.status, fund.delisted_at = ListingStatus.LISTED, None
    if row.on_exchange_list is not None:
        fund.on_exchange_list = row.on_exchange_list
    _apply_profile(fund, row.profile)
    if before == [getattr(fund, field) for field in WRITTEN_FIELDS[:-2]]:
        return False
    fund.last_seen_at = fund.updated_at = now
    return True


def _apply_profile(fund: StockInfo, profile: FundProfile | None) -> None:
    """An empty value never wipes a stored one (a report that failed to give it)."""
    if profile is None:
        return
    for field in PROFILE_FIELDS:
        value = getattr(profile, field)
        if value:
            limit = StockInfo._meta.get_field(field).max_length
            setattr(fund, field, value[:limit] if limit and isinstance(value, str) else value)


def mark_missing_delisted(exchange: str, codes: set[str], now) -> int:
    missing = ETFS.securities(exchange).exclude(code__in=codes)
    return missing.update(status=ListingStatus.DELISTED, delisted_at=now, updated_at=now)
