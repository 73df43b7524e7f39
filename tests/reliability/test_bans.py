"""A source that keeps refusing (a ban): every worker backs off together, the run says why.

The cooldown is a row in the database (SourceCooldown), so it reaches every worker of every
process: the cluster test below bans only funds of one chunk and watches the other worker,
in another process, stop without ever being refused itself.
"""

import time

import pytest
from django.utils import timezone

from etfs.models import SourceCooldown, SyncKind, SyncRun, SyncRunError, SyncStatus, SyncTrigger
from etfs.sync.lists import sync_etf_lists
from etfs.tasks import enqueue_sync, execute_run
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.qcluster import wait_until
from tests.reliability.conftest import (
    KLINE,
    assert_whole_funds,
    kline_codes,
    refreshed,
    sync_prices,
)

pytestmark = pytest.mark.django_db(transaction=True)

PAUSE = "all workers pause until"
PROBE_CODE = "000001"  # the SSE Composite index, what every client not refused is answered


def codes_of(server) -> list[str]:
    return sorted(fund.code for fund in server.funds.values())


@pytest.fixture
def twenty_four(start_fake_eastmoney, settings):
    """24 listed funds fetched two at a time (so that the order of requests is predictable)."""
    settings.ETFSYNC_CONCURRENCY = 2
    settings.ETFSYNC_PRICE_BATCH_ETFS = 2
    server = start_fake_eastmoney(24)
    sync_etf_lists()
    server.requests.clear()
    return server


@pytest.mark.parametrize(
    ("fault", "attempts", "reason"),
    [
        ("403", 1, "answered HTTP 403 (refused; not retried)"),
        ("html", 3, "sent an HTML page instead of JSON"),  # asked twice more: not a hiccup
        ("empty", 3, "sent an empty answer (a sign of throttling)"),
        ("429", 3, "answered HTTP 429 Too Many Requests"),
    ],
)
def test_a_lasting_ban_stops_the_run_after_a_few_requests(
    twenty_four, settings, fault, attempts, reason
):
    server = twenty_four
    server.latency = 0.01
    banned = codes_of(server)[8]
    server.fail(fault, times=None, code=banned)
    # A page or an empty body for one fund is a ban only if the probe is refused too.
    server.fail(fault, times=None, code=PROBE_CODE)

    run = sync_prices()

    cooldown = SourceCooldown.objects.get(source="eastmoney")
    # Once the ban is seen (and the cooldown recorded) only the requests already in flight
    # or queued (2 x concurrency, less the refused one) still go out; then nothing more.
    after = server.requests_since(cooldown.updated_at.timestamp())
    assert len(after) <= 2 * settings.ETFSYNC_CONCURRENCY - 1
    assert kline_codes(server.requests)[banned] == attempts
    assert len(kline_codes(server.requests)) < 24

    assert run.status == SyncStatus.PARTIAL
    left = 24 - run.items_done
    assert left > 0
    assert run.error_summary.startswith(f"stopped, {left} of 24 ETF(s) not synced: ")
    assert reason in run.error_summary and PAUSE in run.error_summary
    error = run.errors.get(severity=SyncRunError.Severity.ERROR)
    assert reason in error.message
    assert reason in cooldown.reason
    assert cooldown.until > timezone.now()
    assert banned not in assert_whole_funds(server)


@pytest.mark.parametrize("fault", ["403", "html", "empty", "429"])
def test_what_a_ban_costs_does_not_depend_on_the_rate_limit(start_fake_eastmoney, settings, fault):
    """With the rate limit off and the default look-ahead (40 funds queued), no other fund is
    asked once the first refused answer has come back. After the source saw the refused
    request, each other worker sends at most three: the one in flight, the one it sent before
    the refusal came back, and the one it was holding when the refused request's retries
    ended; then the refused fund's retries and the probe's."""
    settings.ETFSYNC_RATE_LIMIT = 0
    settings.ETFSYNC_CONCURRENCY = 4
    server = start_fake_eastmoney(60)
    sync_etf_lists()
    server.requests.clear()
    server.latency = 0.01
    banned = codes_of(server)[8]
    server.fail(fault, times=None, code=banned)
    server.fail(fault, times=None, code=PROBE_CODE)

    run = sync_prices()

    assert run.status == SyncStatus.PARTIAL, run.error_summary
    asked = [request.args.get("secid", "").partition(".")[2] for request in server.paths(KLINE)]
    first_refusal = asked.index(banned)
    others_after = [code for code in asked[first_refusal:] if code not in (banned, PROBE_CODE)]
    assert len(others_after) <= 3 * (settings.ETFSYNC_CONCURRENCY - 1), others_after
    assert asked.count(banned) <= 1 + settings.ETFSYNC_HTTP_RETRIES


def test_a_fund_refused_alone_holds_the_others_only_while_it_is_checked(
    start_fake_eastmoney, settings
):
    """The same hold when the probe is answered: the other funds wait for the check, then
    every one of them is asked, once."""
    settings.ETFSYNC_RATE_LIMIT = 0
    settings.ETFSYNC_CONCURRENCY = 4
    server = start_fake_eastmoney(60)
    sync_etf_lists()
    server.requests.clear()
    server.latency = 0.01
    bad = codes_of(server)[8]
    server.fail("html", times=None, code=bad)

    run = sync_prices()

    assert (run.items_done, run.items_failed) == (60, 1), run.error_summary
    asked = [request.args.get("secid", "").partition(".")[2] for request in server.paths(KLINE)]
    first_refusal, probe = asked.index(bad), asked.index(PROBE_CODE)
    between = [code for code in asked[first_refusal:probe] if code != bad]
    assert len(between) <= 3 * (settings.ETFSYNC_CONCURRENCY - 1), between
    assert sorted(code for code in asked if code not in (bad, PROBE_CODE)) == sorted(
        set(codes_of(server)) - {bad}
    )


def test_during_the_cooldown_no_run_asks_anything_and_says_why(twenty_four, settings):
    server = twenty_four
    settings.ETFSYNC_BAN_COOLDOWN_SECONDS = 3
    server.fail("403", times=None, path=KLINE)
    banned = sync_prices()
    assert banned.status == SyncStatus.FAILED
    server.recover()  # the source would answer again, but the cooldown is not over
    server.requests.clear()

    prices = sync_prices()
    lists = sync_etf_lists()
    queued, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})
    execute_run(queued.pk)

    assert server.requests == []
    assert prices.status == SyncStatus.FAILED
    assert prices.error_summary.startswith("stopped, 24 of 24 ETF(s) not synced: eastmoney is ")
    assert "answered HTTP 403" in prices.error_summary and PAUSE in prices.error_summary
    assert lists.status == SyncStatus.FAILED
    assert lists.error_summary.startswith("not started: eastmoney is refusing requests (")
    assert PAUSE in lists.errors.get().message
    queued = refreshed(queued)
    assert queued.status == SyncStatus.FAILED
    assert PAUSE in queued.error_summary
    assert not stored_bars()

    cooldown = SourceCooldown.objects.get()
    time.sleep(max(0.0, (cooldown.until - timezone.now()).total_seconds()) + 0.1)
    after = sync_prices()

    assert after.status == SyncStatus.SUCCEEDED, after.error_summary
    assert_same_bars(stored_bars(), served_bars(server))


@pytest.mark.qcluster
def test_a_ban_seen_by_one_worker_process_stops_the_others(start_fake_eastmoney, start_qcluster):
    """Two worker processes take a chunk each; only the first chunk's funds are refused."""
    server = start_fake_eastmoney(24)
    sync_etf_lists()
    codes = codes_of(server)
    first_chunk, second_chunk = codes[:12], codes[12:]
    banned = first_chunk[3]
    server.latency = 0.2
    server.fail("403", times=None, code=banned)
    server.requests.clear()
    cluster = start_qcluster(
        server,
        Q_WORKERS="2",
        ETFSYNC_PRICE_CHUNK_ETFS="12",
        ETFSYNC_PRICE_BATCH_ETFS="2",
        ETFSYNC_CONCURRENCY="1",
    )

    parent, _ = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})
    wait_until(lambda: refreshed(parent).is_final, "the price run finishing", process=cluster)

    chunks = {tuple(chunk.parameters["codes"]): chunk for chunk in parent.chunks.all()}
    refused, other = chunks[tuple(first_chunk)], chunks[tuple(second_chunk)]
    asked = kline_codes(server.requests)
    assert asked[banned] == 1  # 403 is not retried
    # The other worker was never refused (the fake refuses only one fund of the first chunk):
    # it stopped because of the cooldown the first worker recorded in the database.
    assert other.status in (SyncStatus.PARTIAL, SyncStatus.FAILED), other.error_summary
    assert "answered HTTP 403" in other.error_summary and PAUSE in other.error_summary
    assert sum(asked[code] for code in second_chunk) < 12
    assert refused.status == SyncStatus.PARTIAL
    assert refused.error_summary.startswith("stopped, ")
    assert parent.status in (SyncStatus.PARTIAL, SyncStatus.FAILED)
    assert f"#{other.pk}" in parent.error_summary  # one line per kind of chunk outcome
    # Hardly anything was asked once the ban was seen: the other worker notices the cooldown
    # within a second (0.2 s per request here).
    cooldown = SourceCooldown.objects.get(source="eastmoney")
    after = server.requests_since(cooldown.updated_at.timestamp())
    assert len(after) <= 8, [request.args["secid"] for request in after]
    assert_whole_funds(server)

    # A second run during the cooldown, on the cluster, asks nothing and says why.
    server.requests.clear()
    second, created = enqueue_sync(SyncKind.ETF_PRICES, SyncTrigger.ADMIN, {"start_year": 2024})
    assert created
    wait_until(lambda: refreshed(second).is_final, "the second run finishing", process=cluster)

    assert server.requests == []
    assert second.status == SyncStatus.FAILED
    assert PAUSE in second.error_summary
    for chunk in SyncRun.objects.filter(parent=second):
        assert chunk.status == SyncStatus.FAILED
        assert chunk.error_summary.startswith("stopped, 12 of 12 ETF(s) not synced: eastmoney")
        assert PAUSE in chunk.error_summary


# --- one bad fund is not a ban ------------------------------------------------------------------


@pytest.fixture
def forty(start_fake_eastmoney, settings):
    """40 listed funds fetched one at a time, in plan order."""
    settings.ETFSYNC_CONCURRENCY = 1
    server = start_fake_eastmoney(40)
    sync_etf_lists()
    server.requests.clear()
    return server


def kline_order(server) -> list[str]:
    """The codes of the funds' k-line requests in the order they came (the probe left out)."""
    codes = [request.args["secid"].partition(".")[2] for request in server.paths(KLINE)]
    return [code for code in dict.fromkeys(codes) if code != PROBE_CODE]


@pytest.mark.parametrize("fault", ["html", "empty"])
def test_one_fund_that_always_answers_a_page_fails_alone_and_blocks_nobody(forty, fault):
    """The probe (the index k-line) is answered: not a ban. Only that fund fails, no cooldown,
    every other fund is synced; the next run asks for that fund last."""
    server = forty
    bad = codes_of(server)[3]
    server.fail(fault, times=None, code=bad)

    run = sync_prices()

    assert run.status == SyncStatus.PARTIAL, run.error_summary
    assert (run.items_done, run.items_failed) == (40, 1)
    assert not SourceCooldown.objects.exists()
    error = run.errors.get(severity=SyncRunError.Severity.ERROR)
    assert error.code == bad
    assert "this fund alone failed (not a ban)" in error.message
    assert assert_whole_funds(server) == set(codes_of(server)) - {bad}
    assert kline_codes(server.requests)[PROBE_CODE] == 1
    assert kline_order(server)[3] == bad

    server.requests.clear()
    again = sync_prices()

    assert again.status == SyncStatus.PARTIAL
    assert kline_order(server) == [code for code in codes_of(server) if code != bad] + [bad]
    assert not SourceCooldown.objects.exists()
