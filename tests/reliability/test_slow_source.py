"""A source that trickles its answers: one request has a deadline, a run keeps beating.

Each piece of a trickled answer comes within the read timeout (settings_test: 1 s), so only a
total deadline per request ends it; meanwhile the run's heartbeat thread keeps the run from
being taken for dead, however short the stale limit.
"""

import urllib.request

import pytest

from etfs.models import StockInfo, SyncRun, SyncStatus
from etfs.providers.base import DailyBarSource, ProviderUnavailable
from etfs.sync.sources import provider_for
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.conftest import HISTORY_END, HISTORY_START
from tests.recovery import recovering_all_along
from tests.reliability.conftest import sync_prices

pytestmark = pytest.mark.django_db(transaction=True)

CODE = "510001"


def trickle(server, code: str = CODE) -> int:
    """Make ``code``'s k-lines trickle: the whole answer would take about 6 s; its size."""
    server.fail("trickle", times=None, code=code)
    size = len(client_answer(server, code))
    server.requests.clear()
    server.trickle_interval = 0.3
    server.trickle_bytes = size // 20 + 1
    return size


def client_answer(server, code: str) -> bytes:
    """The k-line answer of ``code`` as the fake sends it, fetched once without the fault."""
    faults = list(server.faults)
    server.faults.clear()
    try:
        url = f"{server.url}/api/qt/stock/kline/get?secid=1.{code}&beg=19900101&end=20500101"
        with urllib.request.urlopen(url) as answer:
            return answer.read()
    finally:
        server.faults.extend(faults)


def test_a_trickled_answer_is_given_up_at_the_request_deadline(server, settings):
    settings.ETFSYNC_REQUEST_DEADLINE = 1.5
    size = trickle(server)
    source = provider_for(DailyBarSource)

    with pytest.raises(ProviderUnavailable, match="did not finish its answer within 1.5 s"):
        source.daily_bars(CODE, "XSHG", HISTORY_START, HISTORY_END, HISTORY_END)

    assert 0 < server.trickled < size


def test_a_run_behind_a_trickling_fund_is_never_taken_for_dead(server, settings):
    """The issue's scenario, shortened: a stale limit shorter than one trickled request, and
    recovery checking all along. The run stays the one run of its scope, fails that fund at
    the deadline and stores the others."""
    settings.ETFSYNC_REQUEST_DEADLINE = 2
    settings.ETFSYNC_STALE_RUN_SECONDS = 1
    settings.ETFSYNC_CONCURRENCY = 1
    trickle(server)
    with recovering_all_along() as recovered:
        run = sync_prices()

    assert len(recovered) >= 5 and not any(recovered)
    assert run.status == SyncStatus.PARTIAL, run.error_summary
    assert (run.items_done, run.items_failed) == (6, 1)
    error = run.errors.get()
    assert error.code == CODE and "did not finish its answer within 2 s" in error.message
    assert SyncRun.objects.count() == 2  # the list sync of the fixture and this run
    others = {key: bar for key, bar in served_bars(server).items() if key[0] != CODE}
    assert_same_bars(stored_bars(), others)
    assert StockInfo.objects.get(code=CODE).bars.count() == 0
