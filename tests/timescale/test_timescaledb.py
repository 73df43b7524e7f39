"""The bars table on a real TimescaleDB: migrations, upserts into compressed chunks, buckets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from etfs.models import DailyBar
from etfs.providers.base import Bar
from etfs.sync import upsert
from etfs.sync.upsert import upsert_daily_bars
from etfs.timeseries import resample_rows
from tests.factories import make_security
from tests.timescale.conftest import COMPRESS_AFTER_DAYS, LEGACY_CODE, LEGACY_DAYS

pytestmark = [pytest.mark.timescaledb, pytest.mark.django_db]
LATE_2021 = dt.date(2021, 12, 31)


def fetch(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def make_bar(day: dt.date, close: str = "1.0000", volume: int = 1000) -> Bar:
    price = Decimal(close)
    return Bar(
        day, price, price + Decimal("0.1"), price - Decimal("0.1"), price, volume, price * volume
    )


def trading_days(first: dt.date, last: dt.date) -> list[dt.date]:
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


def compress_all_chunks() -> None:
    # Django's foreign keys are checked at commit; a test never commits, so check them now, as a
    # commit would before the policy compresses anything (the deferred checks read the chunk's
    # rows where they were before compression moved them).
    connection.check_constraints()
    fetch(
        "SELECT compress_chunk(chunk, if_not_compressed => true)"
        " FROM show_chunks('etfs_dailybar') AS chunk"
    )


def chunk_holding(day: dt.date) -> tuple[str, bool]:
    """(name, is compressed) of the chunk whose range holds ``day``."""
    (chunk,) = fetch(
        "SELECT chunk_name, is_compressed FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'etfs_dailybar'"
        " AND %s >= range_start::date AND %s < range_end::date",
        [day, day],
    )
    return chunk


def uncompressed_rows() -> int:
    """Rows held in the chunks' own (uncompressed) tables rather than in compressed batches."""
    chunks = fetch(
        "SELECT format('%I.%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'etfs_dailybar'"
    )
    return sum(fetch(f"SELECT count(*) FROM ONLY {chunk}")[0][0] for (chunk,) in chunks)


def test_the_bars_table_is_a_hypertable_on_trade_date():
    rows = fetch(
        "SELECT d.column_name FROM timescaledb_information.hypertables h"
        " JOIN timescaledb_information.dimensions d USING (hypertable_schema, hypertable_name)"
        " WHERE h.hypertable_name = 'etfs_dailybar'"
    )
    assert rows == [("trade_date",)]
    # Every unique index includes the partitioning column.
    unique_indexes = fetch(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'etfs_dailybar'"
        " AND indexdef LIKE 'CREATE UNIQUE INDEX%'"
    )
    assert len(unique_indexes) == 2
    assert all("trade_date" in indexdef for (indexdef,) in unique_indexes)


def test_compression_is_segmented_by_security_and_ordered_by_date():
    settings = fetch(
        "SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc"
        " FROM timescaledb_information.compression_settings"
        " WHERE hypertable_name = 'etfs_dailybar' ORDER BY attname"
    )
    assert settings == [("security_id", 1, None, None), ("trade_date", None, 1, True)]


def test_a_compression_policy_uses_the_configured_age():
    jobs = fetch(
        "SELECT config->>'compress_after' FROM timescaledb_information.jobs"
        " WHERE proc_name = 'policy_compression' AND hypertable_name = 'etfs_dailybar'"
    )
    assert jobs == [(f"{COMPRESS_AFTER_DAYS} days",)]


def test_bars_stored_before_the_migration_moved_into_compressed_chunks():
    bars = DailyBar.objects.filter(security__code=LEGACY_CODE).order_by("trade_date")
    assert list(bars.values_list("trade_date", flat=True)) == LEGACY_DAYS
    assert fetch("SELECT count(*) FROM ONLY etfs_dailybar") == [(0,)]
    first_chunk, last_chunk = chunk_holding(LEGACY_DAYS[0]), chunk_holding(LEGACY_DAYS[-1])
    assert first_chunk[0] != last_chunk[0]
    # The session ran the policy's job once: both chunks are old enough to be compressed.
    assert first_chunk[1] and last_chunk[1]


def test_upsert_counts_inserted_updated_and_unchanged_rows():
    security = make_security()
    days = trading_days(dt.date(2021, 3, 1), dt.date(2021, 4, 30))
    first = upsert_daily_bars([(security.pk, make_bar(day)) for day in days])
    revised = [(security.pk, make_bar(day, close="1.5000")) for day in days[:5]]
    unchanged = [(security.pk, make_bar(day)) for day in days[5:]]
    new = [(security.pk, make_bar(dt.date(2021, 5, 3)))]
    second = upsert_daily_bars(revised + unchanged + new)

    assert (first.inserted, first.updated, first.unchanged) == (len(days), 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (1, 5, len(days) - 5)
    closes = DailyBar.objects.filter(security=security).order_by("trade_date")
    assert closes.values_list("close", flat=True)[0] == Decimal("1.5000")
    assert closes.count() == len(days) + 1


def test_upsert_updates_and_inserts_bars_in_a_compressed_chunk():
    security = make_security()
    days = trading_days(dt.date(2021, 6, 1), dt.date(2021, 6, 30))
    upsert_daily_bars([(security.pk, make_bar(day)) for day in days])
    compress_all_chunks()
    late_day = dt.date(2021, 7, 1)  # a bar the source published late, in the same chunk
    chunk = chunk_holding(days[3])
    assert chunk[1], "the bars' chunk is compressed"
    assert chunk_holding(late_day) == chunk

    result = upsert_daily_bars(
        [(security.pk, make_bar(day)) for day in days[:3]]
        + [(security.pk, make_bar(days[3], close="2.0000", volume=7))]
        + [(security.pk, make_bar(late_day))]
    )

    assert (result.inserted, result.updated, result.unchanged) == (1, 1, 3)
    bar = DailyBar.objects.get(security=security, trade_date=days[3])
    assert (bar.close, bar.volume, bar.amount) == (Decimal("2.0000"), 7, Decimal("14.000"))
    assert DailyBar.objects.filter(security=security).count() == len(days) + 1
    assert DailyBar.objects.get(security=security, trade_date=days[4]).close == Decimal("1.0000")
    # The INSERT's RETURNING, counted per security, kept the summary through the hypertable.
    security.refresh_from_db()
    assert (security.bar_count, security.first_bar_date, security.last_bar_date) == (
        len(days) + 1,
        days[0],
        late_day,
    )


def test_an_unchanged_upsert_leaves_compressed_chunks_compressed():
    security = make_security()
    rows = [(security.pk, make_bar(day)) for day in trading_days(dt.date(2021, 9, 1), LATE_2021)]
    upsert_daily_bars(rows)
    compress_all_chunks()

    assert upsert_daily_bars(rows).unchanged == len(rows)
    assert uncompressed_rows() == 0


def test_the_racing_insert_statement_settles_conflicts_in_a_compressed_chunk():
    """The ON CONFLICT statement the upsert falls back to when another writer inserted the
    same bars meanwhile; an empty security scope hides the stored rows from its NOT EXISTS,
    as a concurrent insert would be hidden, so every row reaches ON CONFLICT."""
    security = make_security()
    days = trading_days(dt.date(2021, 8, 2), dt.date(2021, 8, 13))
    upsert_daily_bars([(security.pk, make_bar(day)) for day in days])
    compress_all_chunks()
    with connection.cursor() as cursor:
        # The stage empties itself at commit, and a test never commits.
        cursor.execute(f"DELETE FROM {upsert.STAGE}")
        cursor.execute(
            f"INSERT INTO {upsert.STAGE} ({', '.join(upsert.COLUMNS)})"
            " VALUES (%s, %s, 3, 3.1, 2.9, 3, 10, 30), (%s, %s, 1, 1.1, 0.9, 1, 1000, 1000)",
            [security.pk, days[0], security.pk, days[1]],
        )
        cursor.execute(upsert.INSERT_RACING_SQL, {"ids": [], "first": days[0], "last": days[-1]})
        # (inserted, updated): the changed bar updated; the equal one is left alone
        assert cursor.fetchone() == (0, 1)
    assert DailyBar.objects.get(security=security, trade_date=days[0]).close == Decimal("3.0000")
    assert DailyBar.objects.filter(security=security).count() == len(days)


def test_two_writers_racing_for_the_same_bars():
    pytest.skip(
        "needs a second concurrent connection; the PGlite server serves one connection at a "
        "time (the race is covered statement by statement above)"
    )


@pytest.mark.parametrize("period", ["week", "month"])
def test_time_bucket_resampling_matches_plain_python(period):
    security, other = make_security(), make_security()
    days = trading_days(dt.date(2022, 1, 5), dt.date(2022, 6, 8))
    rows = [
        (security.pk, make_bar(day, close=f"{1 + n % 7 / 10:.4f}", volume=100 + n))
        for n, day in enumerate(days)
    ]
    upsert_daily_bars(rows + [(other.pk, make_bar(day, close="9.0000")) for day in days])
    compress_all_chunks()
    assert chunk_holding(days[0])[0] != chunk_holding(days[-1])[0]

    with CaptureQueriesContext(connection) as queries:
        bars = DailyBar.objects.filter(security=security).resampled(period)
    assert "time_bucket" in queries[-1]["sql"]

    stored = DailyBar.objects.filter(security=security).order_by("trade_date")
    expected = resample_rows(
        stored.values_list("security_id", "trade_date", *upsert.VALUE_COLUMNS), period
    )
    assert bars == expected
    assert sum(bar["days"] for bar in bars) == len(days)
    first_start = {"week": dt.date(2022, 1, 3), "month": dt.date(2022, 1, 1)}[period]
    assert bars[0]["period_start"] == first_start
    assert bars[0]["open"] == rows[0][1].open
    assert bars[-1]["close"] == rows[-1][1].close
