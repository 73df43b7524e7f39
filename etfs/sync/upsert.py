"""Bulk upsert of daily bars keyed on (security, trade_date), counting what really changed.

PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT DO UPDATE that skips
rows equal to what is stored (they are neither rewritten nor locked). Elsewhere (SQLite, the
embedded default): one read of the stored rows, then bulk_create / bulk_update.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction

from etfs.models import DailyBar
from etfs.providers.base import Bar

TABLE = DailyBar._meta.db_table
STAGE = "etfsync_bars_in"
VALUE_COLUMNS = ("open", "high", "low", "close", "volume", "amount")
COLUMNS = ("security_id", "trade_date", *VALUE_COLUMNS)

SecurityBar = tuple[int, Bar]


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


def upsert_daily_bars(rows: Sequence[SecurityBar]) -> UpsertResult:
    """Write bars in one transaction; rows must be unique per (security, trade_date)."""
    if not rows:
        return UpsertResult()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _upsert_postgresql(rows)
        return _upsert_generic(rows)


def _distinct(left: str, right: str) -> str:
    lhs = ", ".join(f"{left}.{column}" for column in VALUE_COLUMNS)
    rhs = ", ".join(f"{right}.{column}" for column in VALUE_COLUMNS)
    return f"({lhs}) IS DISTINCT FROM ({rhs})"


UPSERT_SQL = f"""
WITH written AS (
    INSERT INTO {TABLE} AS stored ({", ".join(COLUMNS)})
    SELECT {", ".join("incoming." + column for column in COLUMNS)}
    FROM {STAGE} AS incoming
    LEFT JOIN {TABLE} AS existing
        ON existing.security_id = incoming.security_id
        AND existing.trade_date = incoming.trade_date
    WHERE existing.id IS NULL OR {_distinct("existing", "incoming")}
    ORDER BY incoming.security_id, incoming.trade_date
    ON CONFLICT (security_id, trade_date) DO UPDATE
        SET {", ".join(f"{column} = EXCLUDED.{column}" for column in VALUE_COLUMNS)}
        WHERE {_distinct("stored", "EXCLUDED")}
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
"""


def _upsert_postgresql(rows: Sequence[SecurityBar]) -> UpsertResult:
    with connection.cursor() as cursor:
        # The stage lives as long as the session and empties itself at every commit.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ("
            "security_id bigint, trade_date date, open numeric(14, 4), high numeric(14, 4),"
            " low numeric(14, 4), close numeric(14, 4), volume bigint, amount numeric(22, 3)"
            ") ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for security_id, bar in rows:
                copy.write_row(
                    (
                        security_id,
                        bar.trade_date,
                        bar.open,
                        bar.high,
                        bar.low,
                        bar.close,
                        bar.volume,
                        bar.amount,
                    )
                )
        # Planner statistics for the fresh stage, so the join picks a sensible plan.
        cursor.execute(f"ANALYZE {STAGE}")
        cursor.execute(UPSERT_SQL)
        inserted, updated = cursor.fetchone()
    return UpsertResult(inserted, updated, len(rows) - inserted - updated)


def _upsert_generic(rows: Sequence[SecurityBar]) -> UpsertResult:
    security_ids = {security_id for security_id, _ in rows}
    first = min(bar.trade_date for _, bar in rows)
    last = max(bar.trade_date for _, bar in rows)
    stored = {
        (row[0], row[1]): row[2:]
        for row in DailyBar.objects.filter(
            security_id__in=security_ids, trade_date__range=(first, last)
        ).values_list("security_id", "trade_date", "id", *VALUE_COLUMNS)
    }
    new, changed = [], []
    for security_id, bar in rows:
        values = tuple(getattr(bar, column) for column in VALUE_COLUMNS)
        existing = stored.get((security_id, bar.trade_date))
        if existing is None:
            new.append(DailyBar(security_id=security_id, trade_date=bar.trade_date, **_fields(bar)))
        elif tuple(existing[1:]) != values:
            changed.append(
                DailyBar(
                    id=existing[0],
                    security_id=security_id,
                    trade_date=bar.trade_date,
                    **_fields(bar),
                )
            )
    DailyBar.objects.bulk_create(new, batch_size=500)
    DailyBar.objects.bulk_update(changed, list(VALUE_COLUMNS), batch_size=200)
    return UpsertResult(len(new), len(changed), len(rows) - len(new) - len(changed))


def _fields(bar: Bar) -> dict:
    return {column: getattr(bar, column) for column in VALUE_COLUMNS}
