"""Turn the bars table into a TimescaleDB hypertable where the server has the extension.

Plain SQL rather than django-timescaledb's backend: that backend (0.2.13, 2023) hypertables
only ``TimescaleDateTimeField`` (a datetime) columns, drops the primary key Django's admin needs,
and assumes every PostgreSQL server has the extension. Here the same migration history serves
SQLite, plain PostgreSQL and TimescaleDB: on the first two this step does nothing.

An existing plain bars table with rows is converted in place (``migrate_data``); on a large
table that rewrites it, so plan the migration for a quiet hour. Chunks older than
``ETFSYNC_COMPRESS_AFTER_DAYS`` (read when this step runs) are compressed by a TimescaleDB
background job; the upsert's UPDATE and INSERT work on compressed chunks (TimescaleDB 2.11+).
"""

import logging

from django.conf import settings
from django.db import migrations

logger = logging.getLogger("etfs.migrations")

TABLE = "etfs_dailybar"


def timescaledb_available(connection) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        return cursor.fetchone() is not None


def make_hypertable(apps, schema_editor):
    connection = schema_editor.connection
    if not timescaledb_available(connection):
        logger.info("TimescaleDB is not available here; %s stays a plain table.", TABLE)
        return
    compress_after_days = settings.ETFSYNC_COMPRESS_AFTER_DAYS
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        # Every unique index of a hypertable must include the partitioning column: the
        # (security, trade_date) constraint does; the surrogate key becomes (id, trade_date).
        cursor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {TABLE}_pkey")
        cursor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id, trade_date)")
        # No default index: the model already has one on trade_date (dailybar_trade_date).
        cursor.execute(
            "SELECT create_hypertable(%s, 'trade_date', chunk_time_interval => INTERVAL '1 year',"
            " create_default_indexes => false, migrate_data => true, if_not_exists => true)",
            [TABLE],
        )
        cursor.execute(
            f"ALTER TABLE {TABLE} SET (timescaledb.compress,"
            " timescaledb.compress_segmentby = 'security_id',"
            " timescaledb.compress_orderby = 'trade_date')"
        )
        cursor.execute(
            "SELECT add_compression_policy(%s, make_interval(days => %s), if_not_exists => true)",
            [TABLE, compress_after_days],
        )
    logger.info(
        "%s is a TimescaleDB hypertable on trade_date, compressed after %s days.",
        TABLE,
        compress_after_days,
    )


class Migration(migrations.Migration):
    dependencies = [("etfs", "0001_initial")]

    operations = [migrations.RunPython(make_hypertable, migrations.RunPython.noop, elidable=False)]
