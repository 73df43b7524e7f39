"""A bar's security is checked by the database once per statement (migration 0022): the rule
of the foreign key it replaced holds for every way of writing, deleting and truncating."""

import threading

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import ProtectedError

from etfs.models import DailyBar, StockInfo
from tests.factories import make_bars, make_security
from tests.threads import InThread

pytestmark = pytest.mark.django_db(transaction=True)

UNKNOWN = 987654321
COLUMNS = "security_id, trade_date, open, high, low, close, volume, amount"


def insert_bar(security_id: int, day: str = "2024-01-02") -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO etfs_dailybar ({COLUMNS}) VALUES (%s, %s, 1, 1, 1, 1, 100, 100)",
            [security_id, day],
        )


def test_the_database_has_the_triggers_and_no_row_by_row_foreign_key():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
            " AND tgrelid IN ('etfs_dailybar'::regclass, 'etfs_stockinfo'::regclass)"
        )
        triggers = {name for (name,) in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid = 'etfs_dailybar'::regclass"
        )
        (foreign_keys,) = cursor.fetchone()
    assert triggers == {
        "dailybar_security_exists_on_insert",
        "dailybar_security_exists_on_update",
        "dailybar_security_kept",
        "dailybar_security_kept_on_truncate",
    }
    assert foreign_keys == 0


def test_an_insert_naming_an_unknown_security_is_refused():
    known = make_security()
    with pytest.raises(IntegrityError, match=f"security_id {UNKNOWN} is not in"):
        with transaction.atomic():
            insert_bar(known.pk)
            insert_bar(UNKNOWN)
    assert DailyBar.objects.count() == 0


def test_a_copy_with_one_unknown_security_writes_nothing():
    known = make_security()
    rows = [(known.pk, "2024-01-02"), (known.pk, "2024-01-03"), (UNKNOWN, "2024-01-02")]
    with pytest.raises(IntegrityError, match=str(UNKNOWN)):
        with transaction.atomic(), connection.cursor() as cursor:
            # As the price sync's writer copies (etfs/sync/upsert.py).
            with (
                connection.wrap_database_errors,
                cursor.copy(f"COPY etfs_dailybar ({COLUMNS}) FROM STDIN") as copy,
            ):
                for security_id, day in rows:
                    copy.write_row((security_id, day, 1, 1, 1, 1, 100, 100))
    assert DailyBar.objects.count() == 0


def test_a_bulk_create_of_known_securities_is_written():
    security = make_security()
    make_bars(security, 5)
    assert DailyBar.objects.filter(security=security).count() == 5


def test_moving_a_bar_to_an_unknown_security_is_refused():
    security = make_security()
    make_bars(security, 2)
    with pytest.raises(IntegrityError, match=str(UNKNOWN)), transaction.atomic():
        DailyBar.objects.filter(security=security).update(security_id=UNKNOWN)
    assert DailyBar.objects.filter(security=security).count() == 2


def test_a_security_with_bars_cannot_be_deleted_in_sql_and_is_kept():
    security = make_security()
    make_bars(security, 2)
    # Checked at the commit, as the deferred foreign key was.
    with pytest.raises(IntegrityError, match="still has bars"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM etfs_stockinfo WHERE id = %s", [security.pk])
    assert StockInfo.objects.filter(pk=security.pk).exists()


def test_a_security_with_bars_cannot_change_its_id():
    security = make_security()
    make_bars(security, 1)
    with pytest.raises(IntegrityError, match="still has bars"), transaction.atomic():
        StockInfo.objects.filter(pk=security.pk).update(id=UNKNOWN)


def test_a_security_and_its_bars_deleted_together_in_either_order():
    first, second = make_security("510300"), make_security("510500")
    make_bars(first, 2)
    make_bars(second, 2)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM etfs_dailybar WHERE security_id = %s", [first.pk])
        cursor.execute("DELETE FROM etfs_stockinfo WHERE id = %s", [first.pk])
    with transaction.atomic(), connection.cursor() as cursor:  # the security first: deferred
        cursor.execute("DELETE FROM etfs_stockinfo WHERE id = %s", [second.pk])
        cursor.execute("DELETE FROM etfs_dailybar WHERE security_id = %s", [second.pk])
    assert not StockInfo.objects.exists() and not DailyBar.objects.exists()


def test_the_orm_still_protects_a_security_with_bars():
    security = make_security()
    make_bars(security, 1)
    with pytest.raises(ProtectedError):
        security.delete()


def test_truncating_the_securities_without_their_bars_is_refused():
    make_bars(make_security(), 1)
    with pytest.raises(IntegrityError, match="truncate both together"), transaction.atomic():
        with connection.cursor() as cursor:
            # CASCADE empties the tables with real foreign keys; not the bars, which have none.
            cursor.execute("TRUNCATE etfs_stockinfo CASCADE")
    assert DailyBar.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE etfs_stockinfo, etfs_dailybar CASCADE")
    assert not StockInfo.objects.exists()


def test_bars_being_written_lock_their_security_against_a_delete():
    security = make_security()
    written, release = threading.Event(), threading.Event()

    def write_and_hold():
        with transaction.atomic():
            insert_bar(security.pk)
            written.set()
            release.wait(30)

    writer = InThread(write_and_hold)
    assert written.wait(30)
    try:
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
                cursor.execute("DELETE FROM etfs_stockinfo WHERE id = %s", [security.pk])
    finally:
        release.set()
        writer.join()
    assert DailyBar.objects.filter(security=security).count() == 1
