"""Turn the bars table into a TimescaleDB hypertable where the server has the extension.

Plain SQL rather than django-timescaledb's backend: that backend (0.2.13, 2023) hypertables
only ``TimescaleDateTimeField`` (a datetime) columns, drops the primary key Django's admin needs,
and assumes every PostgreSQL server has the extension. Here the same migration history serves
SQLite, plain PostgreSQL and TimescaleDB: on the first two this step does nothing.
"""

import logging

from django.db import migrations

logger = logging.getLogger("etfs.migrations")

TABLE = "etfs_dailybar"
COMPRESS_AFTER = "90 days"


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
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        # Every unique index of a hypertable must include the partitioning column.
        cursor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {TABLE}_pkey")
        cursor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id, trade_date)")
        cursor.execute(
            "SELECT create_hypertable(%s, 'trade_date', chunk_time_interval => INTERVAL '1 year',"
            " migrate_data => true, if_not_exists => true)",
            [TABLE],
        )
        cursor.execute(
            f"ALTER TABLE {TABLE} SET (timescaledb.compress,"
            " timescaledb.compress_segmentby = 'security_id',"
            " timescaledb.compress_orderby = 'trade_date')"
        )
        cursor.execute(
            f"SELECT add_compression_policy(%s, INTERVAL '{COMPRESS_AFTER}', if_not_exists => true)",
            [TABLE],
        )
    logger.info(
        "%s is a TimescaleDB hypertable on trade_date, compressed after %s.", TABLE, COMPRESS_AFTER
    )


class Migration(migrations.Migration):
    dependencies = [("etfs", "0001_initial")]

    operations = [migrations.RunPython(make_hypertable, migrations.RunPython.noop, elidable=False)]
