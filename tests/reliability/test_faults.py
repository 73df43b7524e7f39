"""Transient failures of the source: retried with backoff, and the run succeeds once it recovers.

settings_test retries twice with a 0.01 s backoff factor and a 1 s read timeout, so a fault
queued twice is recovered from within one request of the sync.
"""

import pytest

from etfs.models import SourceCooldown, StockInfo, SyncRunError, SyncStatus
from etfs.sync.lists import sync_etf_lists
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.reliability.conftest import KLINE, LIST, kline_codes, sync_prices

pytestmark = pytest.mark.django_db(transaction=True)

CODE = "510001"


@pytest.mark.parametrize("fault", ["timeout", "drop", "500", "502", "503", "429"])
def test_a_transient_failure_is_retried_and_the_run_succeeds(server, settings, fault):
    retries = settings.ETFSYNC_HTTP_RETRIES
    server.fail(fault, times=retries, code=CODE)

    run = sync_prices()

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert (run.items_done, run.items_failed) == (6, 0)
    assert not run.errors.exists()
    assert kline_codes(server.requests)[CODE] == retries + 1
    assert not SourceCooldown.objects.exists()
    assert_same_bars(stored_bars(), served_bars(server))


def test_retries_back_off_exponentially(server, settings):
    """urllib3 retries at once, then waits backoff * 2, backoff * 4, ... (+ up to backoff/2)."""
    settings.ETFSYNC_HTTP_RETRIES = 3
    settings.ETFSYNC_HTTP_BACKOFF = 0.1
    server.fail("503", times=3, code=CODE)

    run = sync_prices(codes=(CODE,))

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    times = [request.received_at for request in server.paths(KLINE)]
    assert len(times) == 4
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert gaps[0] < gaps[1]
    assert gaps[1] >= 0.2
    assert gaps[2] >= 0.4


def test_a_429_with_retry_after_waits_as_long_as_asked(server):
    server.fail("429-retry-after", code=CODE)  # Retry-After: 1

    run = sync_prices(codes=(CODE,))

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    first, second = server.paths(KLINE)
    assert second.received_at - first.received_at >= 1.0
    assert not SourceCooldown.objects.exists()


def test_a_failure_beyond_the_retries_fails_only_that_fund(server, settings):
    server.fail("503", times=settings.ETFSYNC_HTTP_RETRIES + 1, code=CODE)

    run = sync_prices()

    assert run.status == SyncStatus.PARTIAL
    assert (run.items_done, run.items_failed) == (6, 1)
    [error] = run.errors.all()
    assert (error.code, error.severity) == (CODE, SyncRunError.Severity.ERROR)
    assert "answered HTTP 503 after retries" in error.message
    assert run.error_summary.startswith(f"1 of 6 ETF(s) failed, first: {CODE}: ")

    server.requests.clear()
    again = sync_prices()

    assert again.status == SyncStatus.SUCCEEDED
    assert set(kline_codes(server.requests)) == {f.code for f in server.funds.values()}
    assert_same_bars(stored_bars(), served_bars(server))


def test_a_network_outage_fails_every_fund_and_the_next_run_catches_up(
    server, settings, closed_port_url
):
    fake_url = settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL
    settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = closed_port_url

    down = sync_prices()

    assert down.status == SyncStatus.FAILED
    assert (down.items_done, down.items_failed) == (6, 6)
    assert down.error_summary.startswith("6 of 6 ETF(s) failed, first: ")
    assert "cannot reach 127.0.0.1" in down.error_summary
    assert not stored_bars()
    # Refused connections are an outage, not a ban: nobody has to pause.
    assert not SourceCooldown.objects.exists()

    settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL = fake_url
    up = sync_prices()

    assert up.status == SyncStatus.SUCCEEDED
    assert_same_bars(stored_bars(), served_bars(server))


def test_a_transient_failure_of_the_list_is_retried(server, settings):
    server.fail("503", times=settings.ETFSYNC_HTTP_RETRIES, path=LIST)

    run = sync_etf_lists()

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert len(server.paths(LIST)) == settings.ETFSYNC_HTTP_RETRIES + 1


def test_a_list_that_suddenly_shrinks_delists_nothing(start_fake_eastmoney):
    server = start_fake_eastmoney(12)
    sync_etf_lists()
    server.shrink_list(0.5)

    shrunk = sync_etf_lists()

    assert shrunk.status == SyncStatus.PARTIAL
    assert shrunk.rows_delisted == 0
    for exchange in ("XSHE", "XSHG"):
        assert (
            f"{exchange}: the new list has 3 funds against 6 listed before (below 90%); "
            "nothing marked delisted" in shrunk.error_summary
        )
    assert StockInfo.objects.etfs().count() == 12

    server.recover()
    whole = sync_etf_lists()

    assert whole.status == SyncStatus.SUCCEEDED
    assert (whole.rows_unchanged, whole.rows_delisted) == (12, 0)
