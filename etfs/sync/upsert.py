"""Bulk upsert of daily bars keyed on (security, trade_date), counting what really changed.

PostgreSQL: COPY into a temporary table, then one UPDATE of the stored rows whose values differ
and one INSERT of the rows not stored yet; rows equal to what is stored are neither rewritten
nor locked. Elsewhere (SQLite, the
embedded default): one read of the stored rows, then bulk_create / bulk_update.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from etfs.models import BarRevision, DailyBar
from etfs.providers.base import Bar, BarRows

from .freshness import NewBars, add_new_bars, refresh_bar_summary
from .sql_arrays import array_literal

TABLE = DailyBar._meta.db_table
REVISIONS = BarRevision._meta.db_table
STAGE = "etfsync_bars_in"
VALUE_COLUMNS = ("open", "high", "low", "close", "volume", "amount")
COLUMNS = ("security_id", "trade_date", *VALUE_COLUMNS)

SecurityBar = tuple[int, Bar]
# One security's bars: BarRows from the parsers (written as the source's text), or any Bars.
FundBars = tuple[int, Sequence[Bar]]


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def upsert_daily_bars(rows: Sequence[SecurityBar], run_id: int | None = None) -> UpsertResult:
    """Write (security, bar) pairs in one transaction; unique per (security, trade_date)."""
    by_security: dict[int, list[Bar]] = {}
    for security_id, bar in rows:
        by_security.setdefault(security_id, []).append(bar)
    return upsert_fund_bars(list(by_security.items()), run_id)


def upsert_fund_bars(funds: Sequence[FundBars], run_id: int | None = None) -> UpsertResult:
    """Write each security's bars in one transaction; unique per (security, trade_date).

    A stored bar whose values change leaves a BarRevision (old and new values, ``run_id``);
    the bars inserted are added to the securities' freshness summary in the same transaction.
    """
    funds = [(security_id, bars) for security_id, bars in funds if bars]
    if not funds:
        return UpsertResult()
    security_ids = [security_id for security_id, _ in funds]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            result, new_bars = _upsert_postgresql(funds, run_id)
        else:
            rows = [(security_id, _as_rows(bars)) for security_id, bars in funds]
            result, new_bars = _upsert_generic(rows, run_id)
        if new_bars is None:
            refresh_bar_summary(security_ids)
        else:
            add_new_bars(new_bars, security_ids)
    return result


def _as_rows(bars: Sequence[Bar]) -> BarRows:
    return bars if isinstance(bars, BarRows) else BarRows.from_bars(bars)


def _span(bars: Sequence[Bar]) -> tuple[dt.date, dt.date]:
    """The earliest and the latest trade date of some bars."""
    if isinstance(bars, BarRows):
        return dt.date.fromisoformat(bars.first), dt.date.fromisoformat(bars.last)
    return min(bar.trade_date for bar in bars), max(bar.trade_date for bar in bars)


def _scope(funds: Sequence[FundBars]) -> dict:
    firsts, lasts = zip(*(_span(bars) for _, bars in funds), strict=True)
    return {
        "ids": sorted({security_id for security_id, _ in funds}),
        "first": min(firsts),
        "last": max(lasts),
    }


def _all_new(funds: Sequence[FundBars]) -> dict[int, NewBars]:
    """Every bar of the batch inserted: each security's count and span."""
    new_bars: dict[int, NewBars] = {}
    for security_id, bars in funds:
        new = NewBars(len(bars), *_span(bars))
        new_bars[security_id] = new_bars[security_id] + new if security_id in new_bars else new
    return new_bars


def _distinct(left: str, right: str) -> str:
    lhs = ", ".join(f"{left}.{column}" for column in VALUE_COLUMNS)
    rhs = ", ".join(f"{right}.{column}" for column in VALUE_COLUMNS)
    return f"({lhs}) IS DISTINCT FROM ({rhs})"


# The batch's securities and date range narrow the stored side to an index range scan, so a
# batch costs the same whether the table holds a thousand bars or a billion.
_SAME_KEY = (
    "stored.security_id = incoming.security_id AND stored.trade_date = incoming.trade_date"
    " AND stored.security_id = ANY(%(ids)s::bigint[])"
    " AND stored.trade_date BETWEEN %(first)s AND %(last)s"
)
# Revised bars are found by a read first: an UPDATE over the whole batch's range would make
# TimescaleDB decompress every compressed chunk batch in it, even where nothing differs.
CHANGED_KEYS_SQL = f"""
SELECT array_agg(DISTINCT stored.security_id), min(stored.trade_date), max(stored.trade_date)
FROM {STAGE} AS incoming
JOIN {TABLE} AS stored ON {_SAME_KEY}
WHERE {_distinct("stored", "incoming")}
"""
# The old values of the rows about to change, kept in one statement before the UPDATE.
RECORD_REVISIONS_SQL = f"""
INSERT INTO {REVISIONS} (security_id, trade_date, run_id, revised_at,
    {", ".join("old_" + column for column in VALUE_COLUMNS)},
    {", ".join("new_" + column for column in VALUE_COLUMNS)})
SELECT stored.security_id, stored.trade_date, %(run)s, now(),
    {", ".join("stored." + column for column in VALUE_COLUMNS)},
    {", ".join("incoming." + column for column in VALUE_COLUMNS)}
FROM {STAGE} AS incoming
JOIN {TABLE} AS stored ON {_SAME_KEY}
WHERE {_distinct("stored", "incoming")}
"""
# Only rows whose values differ are rewritten (and so locked and WAL-logged).
UPDATE_CHANGED_SQL = f"""
UPDATE {TABLE} AS stored
SET {", ".join(f"{column} = incoming.{column}" for column in VALUE_COLUMNS)}
FROM {STAGE} AS incoming
WHERE {_SAME_KEY} AND {_distinct("stored", "incoming")}
"""
# New bars: a plain INSERT of the rows not stored yet. It avoids ON CONFLICT's speculative
# insertion, which measured about twice as slow on a million new bars (bench/ingest.py). What
# it inserted comes back counted per security, for the freshness summary.
INSERT_NEW_SQL = f"""
WITH inserted AS (
    INSERT INTO {TABLE} ({", ".join(COLUMNS)})
    SELECT {", ".join("incoming." + column for column in COLUMNS)}
    FROM {STAGE} AS incoming
    WHERE NOT EXISTS (SELECT 1 FROM {TABLE} AS stored WHERE {_SAME_KEY})
    ORDER BY incoming.security_id, incoming.trade_date
    RETURNING security_id, trade_date
)
SELECT security_id, count(*), min(trade_date), max(trade_date) FROM inserted GROUP BY security_id
"""
# If another transaction inserted some of the same bars meanwhile, the plain INSERT fails on
# the unique constraint, and the batch is settled again: its bars compared with what is stored
# now, then the rest inserted. Should that race on RACE_ATTEMPTS times, this slower statement
# settles the batch row by row; a row it inserted has no xmax, one it updated carries this
# transaction's lock, so the run counts each as what it was.
RACE_ATTEMPTS = 3
INSERT_RACING_SQL = f"""
WITH settled AS (
    INSERT INTO {TABLE} AS stored ({", ".join(COLUMNS)})
    SELECT {", ".join("incoming." + column for column in COLUMNS)}
    FROM {STAGE} AS incoming
    WHERE NOT EXISTS (SELECT 1 FROM {TABLE} AS stored WHERE {_SAME_KEY})
    ORDER BY incoming.security_id, incoming.trade_date
    ON CONFLICT (security_id, trade_date) DO UPDATE
        SET {", ".join(f"{column} = EXCLUDED.{column}" for column in VALUE_COLUMNS)}
        WHERE {_distinct("stored", "EXCLUDED")}
    RETURNING stored.xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM settled
"""


def copy_rows(cursor, table: str, rows: Sequence[SecurityBar]) -> None:
    """COPY (security, bar) rows into ``table``'s bar columns."""
    with cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for security_id, bar in rows:
            copy.write_row((security_id, bar.trade_date, *(getattr(bar, c) for c in VALUE_COLUMNS)))


def copy_fund_bars(cursor, table: str, funds: Sequence[FundBars]) -> None:
    """COPY each security's bars into ``table``'s bar columns: BarRows as their own text
    (PostgreSQL parses the dates and decimals), other bars value by value. What the database
    refuses is raised as Django's error types, as from ``cursor.execute``."""
    with (
        connection.wrap_database_errors,
        cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
    ):
        for security_id, bars in funds:
            if isinstance(bars, BarRows):
                copy.write(bars.copy_text(security_id))
                continue
            for bar in bars:
                copy.write_row(
                    (security_id, bar.trade_date, *(getattr(bar, c) for c in VALUE_COLUMNS))
                )


# Is any bar of the batch's securities stored within its dates? An index range probe.
STORED_IN_SCOPE_SQL = f"""
SELECT EXISTS (
    SELECT 1 FROM {TABLE} AS stored
    WHERE stored.security_id = ANY(%(ids)s::bigint[])
      AND stored.trade_date BETWEEN %(first)s AND %(last)s
)
"""


def _upsert_postgresql(
    funds: Sequence[FundBars], run_id: int | None
) -> tuple[UpsertResult, dict[int, NewBars] | None]:
    """The counts, and the bars inserted per security (None: unknown, recount them)."""
    with connection.cursor() as cursor:
        # The stage lives as long as the session and empties itself at every commit.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ("
            "security_id bigint, trade_date date, open numeric(14, 4), high numeric(14, 4),"
            " low numeric(14, 4), close numeric(14, 4), volume bigint, amount numeric(22, 3)"
            ") ON COMMIT DELETE ROWS"
        )
        scope = _scope(funds)
        scope["ids"] = array_literal(scope["ids"])
        cursor.execute(STORED_IN_SCOPE_SQL, scope)
        if not cursor.fetchone()[0]:
            # Nothing stored where these bars go (a first sync): COPY them straight into the
            # table, at raw COPY's speed. If a concurrent writer stored some meanwhile, the
            # unique index refuses the COPY and the staged path below settles the batch.
            try:
                with transaction.atomic():
                    copy_fund_bars(cursor, TABLE, funds)
                return UpsertResult(inserted=sum(len(bars) for _, bars in funds)), _all_new(funds)
            except IntegrityError:
                pass
        # Inside an outer transaction a commit has not emptied it yet: start from nothing.
        cursor.execute(f"TRUNCATE {STAGE}")
        copy_fund_bars(cursor, STAGE, funds)
        updated, races = 0, 0
        while True:
            # Bars another transaction stored meanwhile (visible once it committed, when our
            # INSERT failed on them) are compared and revised like any stored bar.
            updated += _update_changed(cursor, scope, run_id)
            if races == RACE_ATTEMPTS:  # still racing: settle the rest row by row
                cursor.execute(INSERT_RACING_SQL, scope)
                inserted, updated_in_race = cursor.fetchone()
                updated += updated_in_race
                break
            try:
                with transaction.atomic():
                    cursor.execute(INSERT_NEW_SQL, scope)
                    new_bars = {row[0]: NewBars(*row[1:]) for row in cursor.fetchall()}
                inserted = sum(new.count for new in new_bars.values())
                break
            except IntegrityError:
                races += 1
        if races:  # the other writer's bars are in too: recount the summary from the bars
            new_bars = None
    total = sum(len(bars) for _, bars in funds)
    return UpsertResult(inserted, updated, total - inserted - updated), new_bars


def _update_changed(cursor, scope: dict, run_id: int | None) -> int:
    """Stored bars whose values differ from the staged ones: revisions kept, then updated."""
    cursor.execute(CHANGED_KEYS_SQL, scope)
    changed_ids, changed_first, changed_last = cursor.fetchone()
    if not changed_ids:
        return 0
    changed = {"ids": changed_ids, "first": changed_first, "last": changed_last}
    cursor.execute(RECORD_REVISIONS_SQL, {**changed, "run": run_id})
    cursor.execute(UPDATE_CHANGED_SQL, changed)
    return cursor.rowcount


INSERT_SQL = (
    f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
)
UPDATE_SQL = f"UPDATE {TABLE} SET {', '.join(c + ' = %s' for c in VALUE_COLUMNS)} WHERE id = %s"


def _upsert_generic(
    funds: Sequence[tuple[int, BarRows]], run_id: int | None
) -> tuple[UpsertResult, dict[int, NewBars]]:
    """One read of the stored rows, then plain INSERTs and UPDATEs of the text values (the
    database converts them, as it does for Django's own Decimal parameters). The counts, and
    the bars inserted per security."""
    scope = _scope(funds)
    stored = {
        (row[0], row[1].isoformat()): row[2:]
        for row in DailyBar.objects.filter(
            security_id__in=scope["ids"], trade_date__range=(scope["first"], scope["last"])
        ).values_list("security_id", "trade_date", "id", *VALUE_COLUMNS)
    }
    new, changed, revisions, total = [], [], [], 0
    for security_id, rows in funds:
        total += len(rows)
        for line in rows.lines:
            fields = line.split("\t")
            existing = stored.get((security_id, fields[0]))
            if existing is None:
                new.append((security_id, *fields))
            elif tuple(existing[1:]) != (values := _exact_values(fields[1:])):
                changed.append((*fields[1:], existing[0]))
                day = dt.date.fromisoformat(fields[0])
                revisions.append(_revision(security_id, day, run_id, existing[1:], values))
    with connection.cursor() as cursor:
        cursor.executemany(INSERT_SQL, new)
        cursor.executemany(UPDATE_SQL, changed)
    BarRevision.objects.bulk_create(revisions, batch_size=500)
    result = UpsertResult(len(new), len(changed), total - len(new) - len(changed))
    return result, _new_bars_of_rows(new)


def _new_bars_of_rows(rows: Sequence[tuple]) -> dict[int, NewBars]:
    """Count and span per security of (security_id, ISO date, ...) rows."""
    days: dict[int, list[str]] = {}
    for security_id, day, *_ in rows:
        days.setdefault(security_id, []).append(day)
    return {
        security_id: NewBars(
            len(dates), dt.date.fromisoformat(min(dates)), dt.date.fromisoformat(max(dates))
        )
        for security_id, dates in days.items()
    }


def _exact_values(fields: Sequence[str]) -> tuple:
    open_, high, low, close, volume, amount = fields
    return (
        Decimal(open_),
        Decimal(high),
        Decimal(low),
        Decimal(close),
        int(volume),
        Decimal(amount),
    )


def _revision(security_id, day, run_id, old, new) -> BarRevision:
    return BarRevision(
        security_id=security_id,
        trade_date=day,
        run_id=run_id,
        **{f"old_{column}": value for column, value in zip(VALUE_COLUMNS, old, strict=True)},
        **{f"new_{column}": value for column, value in zip(VALUE_COLUMNS, new, strict=True)},
    )
