"""One ``should_stop()`` check that every long step honours: a cancel is seen within one page
of a list and within one fund of the k-lines, not at the end of the step."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from etfs.models import SyncKind, SyncRun, SyncStatus
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from etfs.sync.runs import RunRecorder
from tests.conftest import HISTORY_END
from tests.factories import make_run

pytestmark = pytest.mark.django_db(transaction=True)

AFTER_CLOSE = dt.datetime.combine(HISTORY_END, dt.time(16), tzinfo=ZoneInfo("Asia/Shanghai"))


def cancel(kind: str) -> None:
    SyncRun.objects.filter(kind=kind).update(cancel_requested=True)


def test_a_list_run_cancelled_during_its_first_page_stops_after_the_next(start_fake_eastmoney):
    server = start_fake_eastmoney(250)  # three pages of 100

    run = sync_etf_lists(progress=lambda *_: cancel(SyncKind.ETF_LISTS))

    assert (run.status, run.error_summary) == (
        SyncStatus.CANCELLED,
        "cancelled on request; the list was stopped after 2 page(s): the rows they held are "
        "written; nothing marked delisted",
    )
    # Cancelled after the check of page 1: seen at the check of page 2; page 3 never asked.
    assert len(server.paths("clist")) == 2


def test_a_price_run_cancelled_after_a_fund_stops_at_the_next(start_fake_eastmoney, settings):
    settings.ETFSYNC_PRICE_BATCH_ETFS = 1
    settings.ETFSYNC_CONCURRENCY = 1
    server = start_fake_eastmoney(12)
    sync_etf_lists()
    server.requests.clear()

    def cancel_after_the_first_fund(done, total, label):
        if done == 1:
            cancel(SyncKind.ETF_PRICES)

    run = sync_etf_prices(
        PriceOptions(start_year=2024), now=AFTER_CLOSE, progress=cancel_after_the_first_fund
    )

    assert run.status == SyncStatus.CANCELLED
    assert run.items_done == 1
    # The look-ahead had asked for two more; nothing after them.
    assert len(server.paths("kline")) <= 3


def test_a_run_ended_by_someone_else_stops_and_says_how():
    run = make_run(status="running")
    recorder = RunRecorder(run)
    assert recorder.should_stop() is False

    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.FAILED)

    assert recorder.should_stop() is True
    assert recorder.ended == SyncStatus.FAILED


def test_a_cancel_of_the_parent_stops_its_chunk():
    parent = make_run(SyncKind.ETF_PRICES, status="running")
    chunk = make_run(SyncKind.ETF_PRICES, status="running", parent=parent, scope="")
    recorder = RunRecorder(chunk)

    SyncRun.objects.filter(pk=parent.pk).update(cancel_requested=True)

    assert recorder.should_stop() is True
    assert recorder.stopped_outcome() == (SyncStatus.CANCELLED, "cancelled on request")
