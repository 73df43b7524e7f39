"""On plain PostgreSQL, a bar's security is checked once per statement, not once per row.

Django's foreign key from ``etfs_dailybar.security_id`` to ``etfs_stockinfo`` is checked by
PostgreSQL row by row: one query per bar, run at the commit (``DEFERRABLE INITIALLY
DEFERRED``). A full history of 300 ETFs (290,700 bars) spent 1.1 s of the server's CPU in those
checks, 40 % of its work (docs/benchmarks.md). Here the constraint is replaced by triggers that
enforce the same rule set-based:

- after each INSERT or UPDATE of bars (the price sync's COPY, the ORM's bulk writes, any SQL),
  one statement-level check over the rows it wrote (a transition table): every security they
  name must exist, and those securities are locked ``FOR KEY SHARE`` until the commit, as the
  foreign key's check locks them, so that no one deletes one meanwhile;
- a security that still has bars cannot be deleted, have its id changed, or be truncated
  away: checked at the commit (deferred, as the foreign key was), so a transaction may delete
  the bars after the security.

A violation raises SQLSTATE 23503 (foreign_key_violation), which Django reports as an
IntegrityError, as before. The model keeps its ForeignKey (``db_constraint=False``), so the
ORM, the admin and ``on_delete=PROTECT`` are unchanged.

Where the table is a TimescaleDB hypertable (0002) the foreign key stays: hypertables do not
take triggers with transition tables. SQLite keeps its foreign key too (it checks each row at
little cost); the model state alone changes there.
"""

from django.db import migrations, models

BARS = "etfs_dailybar"
SECURITIES = "etfs_stockinfo"

INSTALL = f"""
CREATE FUNCTION etfs_bars_name_known_securities() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unknown bigint;
BEGIN
    -- The securities the statement's bars name, locked as a foreign key's check locks them.
    PERFORM 1 FROM {SECURITIES}
    WHERE id IN (SELECT DISTINCT security_id FROM written_bars)
    ORDER BY id
    FOR KEY SHARE;
    SELECT named.security_id INTO unknown
    FROM (SELECT DISTINCT security_id FROM written_bars) AS named
    WHERE NOT EXISTS (SELECT 1 FROM {SECURITIES} AS security WHERE security.id = named.security_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING
            MESSAGE = format(
                'insert or update on table "{BARS}" violates the security check: '
                'security_id %s is not in "{SECURITIES}"', unknown
            ),
            TABLE = '{BARS}',
            CONSTRAINT = 'dailybar_security_exists';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER dailybar_security_exists_on_insert
AFTER INSERT ON {BARS} REFERENCING NEW TABLE AS written_bars
FOR EACH STATEMENT EXECUTE FUNCTION etfs_bars_name_known_securities();

CREATE TRIGGER dailybar_security_exists_on_update
AFTER UPDATE ON {BARS} REFERENCING NEW TABLE AS written_bars
FOR EACH STATEMENT EXECUTE FUNCTION etfs_bars_name_known_securities();

CREATE FUNCTION etfs_security_without_bars() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM {BARS} WHERE security_id = OLD.id) THEN
        RAISE foreign_key_violation USING
            MESSAGE = format(
                'update or delete on table "{SECURITIES}" violates the security check: '
                'security_id %s still has bars in "{BARS}"', OLD.id
            ),
            TABLE = '{SECURITIES}',
            CONSTRAINT = 'dailybar_security_exists';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER dailybar_security_kept
AFTER DELETE OR UPDATE OF id ON {SECURITIES}
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION etfs_security_without_bars();

CREATE FUNCTION etfs_securities_truncated_without_bars() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM {BARS}) THEN
        RAISE foreign_key_violation USING
            MESSAGE = 'truncate of table "{SECURITIES}" leaves bars in "{BARS}" without their '
                      'security: truncate both together',
            TABLE = '{SECURITIES}',
            CONSTRAINT = 'dailybar_security_exists';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER dailybar_security_kept_on_truncate
AFTER TRUNCATE ON {SECURITIES}
FOR EACH STATEMENT EXECUTE FUNCTION etfs_securities_truncated_without_bars();
"""

REMOVE = f"""
DROP TRIGGER IF EXISTS dailybar_security_kept_on_truncate ON {SECURITIES};
DROP TRIGGER IF EXISTS dailybar_security_kept ON {SECURITIES};
DROP TRIGGER IF EXISTS dailybar_security_exists_on_update ON {BARS};
DROP TRIGGER IF EXISTS dailybar_security_exists_on_insert ON {BARS};
DROP FUNCTION IF EXISTS etfs_securities_truncated_without_bars();
DROP FUNCTION IF EXISTS etfs_security_without_bars();
DROP FUNCTION IF EXISTS etfs_bars_name_known_securities();
"""


def is_hypertable(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    if cursor.fetchone() is None:
        return False
    cursor.execute(
        "SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = %s", [BARS]
    )
    return cursor.fetchone() is not None


def security_foreign_keys(cursor) -> list[str]:
    cursor.execute(
        """
        SELECT constraint_row.conname
        FROM pg_constraint AS constraint_row
        JOIN pg_attribute AS attribute
          ON attribute.attrelid = constraint_row.conrelid
         AND attribute.attnum = ANY(constraint_row.conkey)
        WHERE constraint_row.contype = 'f'
          AND constraint_row.conrelid = %s::regclass
          AND constraint_row.confrelid = %s::regclass
          AND attribute.attname = 'security_id'
        """,
        [BARS, SECURITIES],
    )
    return [name for (name,) in cursor.fetchall()]


def check_per_statement(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if is_hypertable(cursor):
            return
        for name in security_foreign_keys(cursor):
            cursor.execute(f'ALTER TABLE {BARS} DROP CONSTRAINT "{name}"')
        cursor.execute(INSTALL)


def check_per_row(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if is_hypertable(cursor) or security_foreign_keys(cursor):
            return
        cursor.execute(REMOVE)
        cursor.execute(
            f"ALTER TABLE {BARS} ADD CONSTRAINT {BARS}_security_id_fk_{SECURITIES}_id"
            f" FOREIGN KEY (security_id) REFERENCES {SECURITIES} (id)"
            " DEFERRABLE INITIALLY DEFERRED"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("etfs", "0021_syncrun_items_before_first_item"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="dailybar",
                    name="security",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="bars",
                        to="etfs.stockinfo",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(check_per_statement, check_per_row, elidable=False),
            ],
        ),
    ]
