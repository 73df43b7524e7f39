"""The bar upsert when another transaction writes bars of the same securities at the same
moment: the same bars, or other bars whose summary it keeps too."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from etfs.models import BarRevision, DailyBar, StockInfo
from etfs.providers.base import Bar
from etfs.sync import upsert
from etfs.sync.freshness import refresh_bar_summary
from etfs.sync.upsert import UpsertResult, upsert_daily_bars
from tests.database import other_session
from tests.factories import make_security

pytestmark = pytest.mark.django_db(transaction=True)

DAY = dt.date(2024, 1, 2)
NEXT_DAY = dt.date(2024, 1, 3)


def bar(day: dt.date, close: str) -> Bar:
    price = Decimal(close)
    return Bar(day, price, price, price, price, 1000, Decimal("3480.000"))


def inserted_elsewhere(security, day: dt.date, close: str = "3.48"):
    """The session of another transaction that has inserted this bar and not committed yet."""
    session = other_session()
    session.execute(
        "INSERT INTO etfs_dailybar (security_id, trade_date, open, high, low, close, volume, "
        "amount) VALUES (%s, %s, %s, %s, %s, %s, 1000, 3480)",
        [security.pk, day, close, close, close, close],
    )
    return session


def test_a_bar_another_transaction_inserts_meanwhile_is_settled_not_an_error():
    """Two runs write the same bar at once. The other transaction's insert is not visible
    when ours looks for stored bars; ours then waits on the unique index and fails when the
    other commits. The batch is settled again: the bar is stored once, the new one too."""
    security = make_security("510300")
    other = inserted_elsewhere(security, DAY)
    committer = threading.Thread(target=_once_a_session_waits, args=(other.commit,), daemon=True)
    committer.start()

    rows = [(security.pk, bar(DAY, "3.480")), (security.pk, bar(NEXT_DAY, "3.500"))]
    result = upsert_daily_bars(rows)

    committer.join(timeout=30)
    other.close()
    assert committer.waited, "our insert never waited for the other transaction"
    stored = dict(DailyBar.objects.values_list("trade_date", "close"))
    assert stored == {DAY: Decimal("3.4800"), NEXT_DAY: Decimal("3.5000")}
    assert (result.inserted, result.updated, result.unchanged) == (1, 0, 1)


@pytest.mark.parametrize(
    ("their_close", "counts"),
    [("3.48", (1, 1, 1)), ("3.40", (1, 2, 0))],
    ids=["the same values", "other values"],
)
def test_a_batch_that_meets_a_concurrent_writers_bar_compares_it_like_a_stored_one(
    their_close, counts
):
    """Bars are stored where the batch goes, so its new bars are inserted from the stage; the
    other transaction's insert of one of them makes that INSERT fail. The batch is settled
    again: that bar is compared like any stored bar (updated to ours, and revised, if its
    values differ), the rest inserted, and the summary recounted from the bars."""
    security = make_security("510300")
    upsert_daily_bars([(security.pk, bar(NEXT_DAY, "3.500"))])
    other = inserted_elsewhere(security, DAY, their_close)
    committer = threading.Thread(target=_once_a_session_waits, args=(other.commit,), daemon=True)
    committer.start()

    later = NEXT_DAY + dt.timedelta(days=1)
    rows = [(security.pk, bar(day, "3.480")) for day in (DAY, NEXT_DAY, later)]
    result = upsert_daily_bars(rows)

    committer.join(timeout=30)
    other.close()
    assert committer.waited, "our insert never waited for the other transaction"
    assert (result.inserted, result.updated, result.unchanged) == counts
    assert set(DailyBar.objects.values_list("close", flat=True)) == {Decimal("3.4800")}
    revised = BarRevision.objects.filter(trade_date=DAY, old_close=Decimal(their_close))
    assert revised.exists() == (their_close != "3.48")
    assert summary(security) == recounted(security) == (3, DAY, later)


def test_a_batch_still_racing_is_settled_row_by_row_and_counted_as_it_was(monkeypatch):
    """After RACE_ATTEMPTS races the batch is settled by INSERT ... ON CONFLICT: a bar another
    transaction stores while that statement runs is updated to ours and counted updated."""
    monkeypatch.setattr(upsert, "RACE_ATTEMPTS", 1)
    security = make_security("510300")
    upsert_daily_bars([(security.pk, bar(NEXT_DAY, "3.500"))])
    later = NEXT_DAY + dt.timedelta(days=1)
    first, second = (
        inserted_elsewhere(security, DAY, "3.40"),
        inserted_elsewhere(security, later, "3.40"),
    )
    committer = threading.Thread(target=_commit_each_when_it_blocks, args=(first, second))
    committer.start()

    rows = [(security.pk, bar(day, "3.480")) for day in (DAY, NEXT_DAY, later)]
    result = upsert_daily_bars(rows)

    committer.join(timeout=30)
    first.close()
    second.close()
    assert committer.blocked == [True, True], "our batch did not wait for both transactions"
    assert (result.inserted, result.updated, result.unchanged) == (0, 3, 0)
    assert set(DailyBar.objects.values_list("close", flat=True)) == {Decimal("3.4800")}
    revised = BarRevision.objects.filter(old_close=Decimal("3.4"), new_close=Decimal("3.48"))
    assert list(revised.values_list("trade_date", flat=True)) == [DAY]  # the one seen stored
    assert summary(security) == recounted(security) == (3, DAY, later)


def _commit_each_when_it_blocks(*sessions) -> None:
    """Commit each session in turn once another session waits for one of its locks."""
    threading.current_thread().blocked = []
    with other_session(autocommit=True) as watcher:
        for session in sessions:
            pid = session.info.backend_pid
            for _ in range(300):
                blocking = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    [pid],
                ).fetchone()[0]
                if blocking:
                    break
                time.sleep(0.05)
            threading.current_thread().blocked.append(bool(blocking))
            session.commit()


def test_two_batches_adding_bars_to_one_security_both_count():
    """The second batch waits for the first's lock on the security's summary, then adds its
    bar to what the first committed (read before the lock, the first's bar would be lost)."""
    security = make_security("510300")
    upsert_daily_bars([(security.pk, bar(DAY, "3.480"))])
    written, release = threading.Event(), threading.Event()
    first = threading.Thread(target=_batch_held_open, args=(security, written, release))
    first.start()
    assert written.wait(timeout=30)
    releaser = threading.Thread(target=_once_a_session_waits, args=(release.set,), daemon=True)
    releaser.start()

    later = NEXT_DAY + dt.timedelta(days=1)
    upsert_daily_bars([(security.pk, bar(later, "3.520"))])

    releaser.join(timeout=30)
    first.join(timeout=30)
    assert releaser.waited, "our batch never waited for the first one"
    assert summary(security) == recounted(security) == (3, DAY, later)


def _batch_held_open(security, written, release) -> None:
    """A batch of one bar whose transaction stays open until ``release``."""
    try:
        with transaction.atomic():
            upsert_daily_bars([(security.pk, bar(NEXT_DAY, "3.500"))])
            written.set()
            release.wait(timeout=30)
    finally:
        connection.close()


def summary(security) -> tuple:
    return StockInfo.objects.values_list("bar_count", "first_bar_date", "last_bar_date").get(
        pk=security.pk
    )


def recounted(security) -> tuple:
    refresh_bar_summary([security.pk])
    return summary(security)


def _once_a_session_waits(action) -> None:
    """Run ``action`` (commit or release the other transaction) once a session waits for a
    lock."""
    threading.current_thread().waited = False
    with other_session(autocommit=True) as watcher:
        for _ in range(300):
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            ).fetchone()[0]
            if waiting:
                threading.current_thread().waited = True
                break
            time.sleep(0.05)
    action()


def test_results_add_up():
    total = UpsertResult(1, 2, 3)

    total += UpsertResult(4, 5, 6)
    total += UpsertResult(10, 20, 30)

    assert (total.inserted, total.updated, total.unchanged) == (15, 27, 39)


# --- values: inserted, updated, unchanged, to the last decimal ------------------------------------


def day_bar(day: int, close: str = "3.480", **values) -> Bar:
    fields = {
        "open": Decimal("3.500"),
        "high": Decimal("3.510"),
        "low": Decimal("3.470"),
        "close": Decimal(close),
        "volume": 123_400,
        "amount": Decimal("430000.00"),
    }
    fields.update(values)
    return Bar(trade_date=dt.date(2024, 1, day), **fields)


class TestUpsertDailyBars:
    @pytest.fixture
    def funds(self):
        return make_security("510300"), make_security("159915", "XSHE")

    def test_counts_inserted_updated_and_unchanged(self, funds):
        first, second = funds
        rows = [(first.pk, day_bar(2)), (first.pk, day_bar(3)), (second.pk, day_bar(2))]

        assert upsert_daily_bars(rows).__dict__ == {"inserted": 3, "updated": 0, "unchanged": 0}
        assert upsert_daily_bars(rows).__dict__ == {"inserted": 0, "updated": 0, "unchanged": 3}

        revised = [
            (first.pk, day_bar(2)),
            (first.pk, day_bar(3, close="3.490")),
            (second.pk, day_bar(4)),
        ]
        result = upsert_daily_bars(revised)

        assert result.__dict__ == {"inserted": 1, "updated": 1, "unchanged": 1}
        assert DailyBar.objects.count() == 4
        assert DailyBar.objects.get(security=first, trade_date=dt.date(2024, 1, 3)).close == (
            Decimal("3.490")
        )

    def test_a_re_run_creates_no_duplicates(self, funds):
        first, _ = funds
        rows = [(first.pk, day_bar(day)) for day in (2, 3, 4)]

        for _ in range(3):
            upsert_daily_bars(rows)

        assert DailyBar.objects.count() == 3
        assert sorted(DailyBar.objects.values_list("trade_date", flat=True)) == [
            dt.date(2024, 1, day) for day in (2, 3, 4)
        ]

    def test_values_are_stored_to_the_last_decimal(self, funds):
        first, _ = funds
        exact = day_bar(
            2,
            open=Decimal("9999999999.9999"),
            high=Decimal("9999999999.9999"),
            low=Decimal("0.0001"),
            close=Decimal("3.999"),
            volume=9_000_000_000_000_000_000,
            amount=Decimal("1234567890123456789.123"),
        )

        upsert_daily_bars([(first.pk, exact)])

        row = DailyBar.objects.get()
        assert (row.open, row.high, row.low, row.close) == (
            Decimal("9999999999.9999"),
            Decimal("9999999999.9999"),
            Decimal("0.0001"),
            Decimal("3.999"),
        )
        assert row.volume == 9_000_000_000_000_000_000
        assert row.amount == Decimal("1234567890123456789.123")

    def test_a_change_in_the_fourth_decimal_is_an_update(self, funds):
        first, _ = funds
        upsert_daily_bars([(first.pk, day_bar(2, close="3.4800"))])

        result = upsert_daily_bars([(first.pk, day_bar(2, close="3.4801"))])

        assert (result.inserted, result.updated) == (0, 1)
        assert DailyBar.objects.get().close == Decimal("3.4801")

    def test_only_the_given_rows_are_touched(self, funds):
        first, second = funds
        upsert_daily_bars([(first.pk, day_bar(2)), (second.pk, day_bar(2))])

        upsert_daily_bars([(first.pk, day_bar(2, close="3.500"))])

        assert DailyBar.objects.get(security=second).close == Decimal("3.480")

    def test_nothing_to_write_is_nothing_done(self):
        assert upsert_daily_bars([]).__dict__ == {"inserted": 0, "updated": 0, "unchanged": 0}

    def test_inside_an_outer_transaction_the_last_write_wins(self, funds):
        first, _ = funds

        with transaction.atomic():
            upsert_daily_bars([(first.pk, day_bar(2, close="3.480"))])
            upsert_daily_bars([(first.pk, day_bar(2, close="3.490"))])
            result = upsert_daily_bars([(first.pk, day_bar(2, close="3.500"))])

        assert DailyBar.objects.get().close == Decimal("3.500")
        assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)
