"""The calendar is checked, not only extended (issue 22, item 5): each calendar run re-reads the
index over the recent past even when the table knows it, corrects a known day the index
contradicts (kept as a CalendarRevision, shown in the admin), and takes an answer that lacks a
stretch of known trading days for a faulty answer, not a run of holidays."""

import datetime as dt
import json
from pathlib import Path

import pytest
from django.urls import reverse

from etfs.models import CalendarRevision, SyncStatus, TradingDay
from etfs.sync.calendar import is_trading_day, shipped_trading_days
from etfs.sync.calendar_sync import sync_calendar
from tests.factories import make_bars, make_security
from tests.sync.test_calendar import at, index_requests

pytestmark = pytest.mark.django_db(transaction=True)

SHARED_PAYLOADS = Path(__file__).resolve().parents[3] / "shared" / "payloads"
TENCENT_1990_95 = "tencent_fqkline_sh000001_day_1990-12-19_1995-12-29.json"
# A made-up unexpected closure inside the shipped year (as 2020-01-31 was, announced late).
CLOSED_UNEXPECTEDLY = dt.date(2026, 6, 10)


def index_without(*days: dt.date, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)):
    return [day for day in shipped_trading_days() if start <= day <= end and day not in days]


def test_a_run_in_a_year_the_table_knows_still_reads_the_recent_past(start_fake_eastmoney):
    server = start_fake_eastmoney(6)
    server.set_index_days(index_without())

    with at(dt.date(2026, 6, 20), 9):
        run = sync_calendar()

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    [params] = index_requests(server)
    assert (params["beg"], params["end"]) == ("20260520", "20260619")  # at least 30 days back


def test_a_known_day_the_index_contradicts_is_corrected_and_kept_as_a_revision(
    start_fake_eastmoney, admin_client
):
    server = start_fake_eastmoney(6)
    server.set_index_days(index_without(CLOSED_UNEXPECTEDLY))
    fund = make_security("510300")
    make_bars(fund, 3, start=CLOSED_UNEXPECTEDLY - dt.timedelta(days=1))

    with at(dt.date(2026, 6, 20), 9):
        run = sync_calendar()

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert is_trading_day(CLOSED_UNEXPECTEDLY) is False
    revision = CalendarRevision.objects.get()
    assert (revision.date, revision.was_open, revision.is_open) == (
        CLOSED_UNEXPECTEDLY,
        True,
        False,
    )
    assert revision.run == run
    [warning] = run.errors.values_list("message", flat=True)
    assert warning.startswith("2026-06-10 corrected to closed")
    assert "1 bar(s) stored on it are kept" in warning
    assert (run.rows_updated, run.warnings) == (1, 1)
    assert "1 corrected to closed" in run.error_summary
    page = admin_client.get(reverse("admin:etfs_calendarrevision_changelist"))
    assert page.status_code == 200
    assert "June 10, 2026" in page.content.decode() or "2026-06-10" in page.content.decode()
    add = admin_client.get(reverse("admin:etfs_calendarrevision_add"))
    assert add.status_code == 403


def test_a_day_the_index_shows_inside_known_history_is_corrected_to_open(start_fake_eastmoney):
    server = start_fake_eastmoney(6)
    reopened = dt.date(2026, 6, 19)  # Dragon Boat Festival in the shipped file
    assert is_trading_day(reopened) is False
    server.set_index_days(sorted([*index_without(), reopened]))

    with at(dt.date(2026, 6, 25), 9):
        run = sync_calendar()

    assert is_trading_day(reopened) is True
    revision = CalendarRevision.objects.get()
    assert (revision.date, revision.was_open, revision.is_open, revision.run) == (
        reopened,
        False,
        True,
        run,
    )


def test_an_index_answer_with_a_gap_is_a_warning_never_a_run_of_holidays(
    start_fake_eastmoney, settings
):
    """Tencent's SSE Composite for 1990-95 (a real answer) lacks 173 of the trading days the
    calendar knows: the run warns and keeps every one of them."""
    payload = json.loads((SHARED_PAYLOADS / TENCENT_1990_95).read_text())
    tencent_days = [dt.date.fromisoformat(row[0]) for row in payload["data"]["sh000001"]["day"]]
    server = start_fake_eastmoney(6)
    server.set_index_days(tencent_days)
    settings.ETFSYNC_CALENDAR_LOOKBACK_DAYS = 2000  # a window reaching back to 1990
    held_open = TradingDay.objects.open().filter(date__lte=dt.date(1995, 12, 29)).count()

    with at(dt.date(1996, 1, 2), 9):
        run = sync_calendar()

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert TradingDay.objects.open().filter(date__lte=dt.date(1995, 12, 29)).count() == held_open
    assert not CalendarRevision.objects.exists()
    [warning] = run.errors.filter(severity="warning").values_list("message", flat=True)
    assert warning.startswith(
        "the index has no bar for 173 day(s) the calendar holds as trading days (16 stretch(es)"
    )
    assert "1991-05-06, 1991-05-14, 1991-05-16..1991-05-17 (2 days)" in warning
    assert "kept" in warning


def test_days_before_the_answers_first_bar_are_not_checked(start_fake_eastmoney):
    """An answer that does not reach back as far as asked (it starts on 2026-06-05 for a window
    from 2026-05-20) says nothing about the days before its first bar."""
    server = start_fake_eastmoney(6)
    server.set_index_days(index_without(start=dt.date(2026, 6, 5)))

    with at(dt.date(2026, 6, 20), 9):
        run = sync_calendar()

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert not run.errors.exists()
    assert not CalendarRevision.objects.exists()
    assert is_trading_day(dt.date(2026, 5, 20)) is True
