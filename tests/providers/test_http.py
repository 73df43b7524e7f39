"""The shared HTTP client against a real local server: retries, bans, timeouts, bad bodies."""

import re
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
import time_machine

from etfs.providers.base import ProviderDataError, ProviderUnavailable
from etfs.providers.http import (
    BODY_RETRIES,
    HttpClient,
    HttpConfig,
    ProviderBlocked,
    RateLimiter,
    RefusalGate,
    decode_json_response,
    decode_text_response,
)
from tests.conftest import HISTORY
from tests.fakes.eastmoney import FakeEastmoney, make_funds

LIST_PATH = "/api/qt/clist/get"
LIST_PARAMS = {"pn": 1, "pz": 100, "po": 1, "np": 1, "fltt": 2, "fid": "f12", "fields": "f12,f2"}
FAST = HttpConfig(read_timeout=2.0, retries=2, backoff=0.01, rate_limit=0)


@pytest.fixture
def server():
    server = FakeEastmoney(make_funds(2, *HISTORY))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client():
    client = HttpClient(FAST)
    yield client
    client.close()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The sleeps this test's thread asks for, in order (they still happen)."""
    real_sleep, thread, asked = time.sleep, threading.get_ident(), []

    def sleep(seconds: float) -> None:
        if threading.get_ident() == thread:
            asked.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    return asked


@pytest.fixture
def clock_moved_by_sleeps(monkeypatch) -> list[float]:
    """The wall clock stands still; a sleep moves it on at once instead (time-machine).

    Returns the sleeps asked for, in order: what a rate limit decides, without waiting for it.
    """
    asked = []
    with time_machine.travel(time.time(), tick=False) as clock:

        def sleep(seconds: float) -> None:
            asked.append(seconds)
            clock.shift(seconds)

        monkeypatch.setattr(time, "sleep", sleep)
        yield asked


def get_list(client: HttpClient, server: FakeEastmoney, **params):
    return client.get_json(server.url + LIST_PATH, {**LIST_PARAMS, **params})


def host_of(server: FakeEastmoney) -> str:
    return server.url.removeprefix("http://")


# --- decoding one answer (no network) ----------------------------------------------------------


class TestDecodeJsonResponse:
    def decode(self, body: bytes, status: int = 200, headers=None):
        return decode_json_response("push2.example", status, body, headers or {})

    def test_fractions_are_exact_decimals(self):
        assert self.decode(b'{"f2": 0.1, "f5": 12}') == {"f2": Decimal("0.1"), "f5": 12}

    def test_a_captcha_page_with_status_200_is_a_ban(self):
        with pytest.raises(ProviderBlocked, match="HTML page instead of JSON"):
            self.decode(
                b"\n  <html><title>\xe8\xae\xbf\xe9\x97\xae\xe5\x8f\x97\xe9\x99\x90</title>"
            )

    @pytest.mark.parametrize("body", [b"", b"  \r\n"])
    def test_an_empty_body_is_a_ban(self, body):
        with pytest.raises(ProviderBlocked, match="empty answer"):
            self.decode(body)

    def test_truncated_json_is_a_data_error_with_the_body(self):
        with pytest.raises(ProviderDataError, match="invalid JSON") as caught:
            self.decode(b'{"rc":0,"data":{"total":3,"di')

        assert caught.value.body.startswith('{"rc":0')

    def test_jsonp_is_a_data_error_that_says_so(self):
        with pytest.raises(ProviderDataError, match=r"JSONP-wrapped\?"):
            self.decode(b'jQuery1124({"rc":0,"data":null});')

    def test_403_is_a_ban(self):
        with pytest.raises(ProviderBlocked, match="HTTP 403"):
            self.decode(b"forbidden", status=403)

    def test_429_names_the_retry_after(self):
        with pytest.raises(ProviderBlocked, match="429 Too Many Requests, Retry-After 120 s"):
            self.decode(b"slow down", status=429, headers={"Retry-After": "120"})

    def test_5xx_is_unavailable(self):
        with pytest.raises(ProviderUnavailable, match="HTTP 502") as caught:
            self.decode(b"bad gateway", status=502)

        assert not isinstance(caught.value, ProviderBlocked)

    def test_another_status_is_a_data_error(self):
        with pytest.raises(ProviderDataError, match="HTTP 404"):
            self.decode(b"not found", status=404)

    @pytest.mark.parametrize(
        "label", ["iso-8859-1", "ISO-8859-1", "windows-1252", "us-ascii", "gb18030", "nonsense"]
    )
    def test_json_is_utf8_whatever_the_charset_label_says(self, label):
        """RFC 8259: JSON is UTF-8. A label over UTF-8 bytes wrote mojibake names once."""
        body = '{"f14": "沪深300ETF", "f2": 3.9}'.encode()

        answer = self.decode(body, headers={"Content-Type": f"application/json; charset={label}"})

        assert answer["f14"] == "沪深300ETF"

    def test_a_byte_order_mark_is_not_part_of_the_json(self):
        assert self.decode('\ufeff{"f14": "沪深300ETF"}'.encode()) == {"f14": "沪深300ETF"}

    def test_text_that_is_not_utf8_follows_its_label_then_gb18030(self):
        body = 'var a = ["华夏回报"];'.encode("gb18030")

        assert decode_text_response("fund.example", 200, body, {}) == 'var a = ["华夏回报"];'
        labelled = {"Content-Type": "text/javascript; charset=GBK"}
        assert decode_text_response("fund.example", 200, body, labelled).endswith('"华夏回报"];')

    def test_an_integer_too_long_for_python_is_a_decimal_not_a_crash(self):
        """Python refuses int() of over 4,300 digits (ValueError, not a JSON error): the one
        value reaches the parser, which refuses it alone."""
        answer = self.decode(b'{"f5": 1' + b"0" * 5000 + b', "f12": "510300"}')

        assert answer["f12"] == "510300"
        assert answer["f5"] == Decimal("1e5000")


# --- the client against the fake server --------------------------------------------------------


class TestHttpClient:
    def test_numbers_with_fractions_arrive_as_decimals(self, server, client):
        answer = get_list(client, server)

        prices = [row["f2"] for row in answer["data"]["diff"]]
        assert prices and all(isinstance(price, Decimal) for price in prices)
        assert prices[0] == server.funds[(1, "510000")].bars[-1].close

    def test_sends_the_configured_user_agent_and_referer(self, server):
        config = HttpConfig(retries=0, rate_limit=0, user_agent="Test/1", referer="https://r/")
        client = HttpClient(config)

        get_list(client, server)

        request = server.requests[-1]
        assert request.headers["User-Agent"] == "Test/1"
        assert request.headers["Referer"] == "https://r/"

    @pytest.mark.parametrize(
        ("fault", "error", "message", "requests"),
        [
            ("html", ProviderBlocked, "HTML page", 1 + BODY_RETRIES),
            ("empty", ProviderBlocked, "empty answer", 1 + BODY_RETRIES),
            ("truncated", ProviderDataError, "invalid JSON", 1 + BODY_RETRIES),
            ("jsonp", ProviderDataError, "JSONP-wrapped", 1),  # our request, not a hiccup
        ],
    )
    def test_a_bad_body_that_persists_says_what_was_wrong(
        self, server, client, fault, error, message, requests
    ):
        server.fail(fault, times=None)

        with pytest.raises(error, match=message):
            get_list(client, server)

        assert len(server.requests) == requests

    @pytest.mark.parametrize("fault", ["html", "empty", "truncated"])
    def test_a_gateway_hiccup_in_a_200_answer_is_asked_again(self, server, client, fault):
        server.fail(fault, times=1)

        payload = get_list(client, server)

        assert payload["data"]["total"] == len(server.funds)
        assert len(server.requests) == 2

    def test_5xx_is_retried_until_an_answer_comes(self, server, client):
        server.fail("500")
        server.fail("503")

        answer = get_list(client, server)

        assert answer["data"]["total"] == 2
        assert len(server.requests) == 3

    def test_5xx_beyond_the_retries_is_unavailable(self, server, client):
        server.fail("502", times=3)

        with pytest.raises(ProviderUnavailable, match="HTTP 502 after retries"):
            get_list(client, server)

        assert len(server.requests) == 3  # one try and two retries

    def test_429_is_retried(self, server, client):
        server.fail("429")

        answer = get_list(client, server)

        assert answer["data"]["total"] == 2
        assert len(server.requests) == 2

    def test_429_with_retry_after_is_retried_after_the_wait_it_asks_for(self, server, client):
        server.fail("429-retry-after")  # Retry-After: 1

        started = time.monotonic()
        answer = get_list(client, server)

        assert answer["data"]["total"] == 2
        assert len(server.requests) == 2
        assert time.monotonic() - started >= 0.9

    def test_429_beyond_the_retries_is_a_ban(self, server, client):
        server.fail("429", times=3)

        with pytest.raises(ProviderBlocked, match="429 Too Many Requests"):
            get_list(client, server)

        assert len(server.requests) == 3

    def test_retry_after_is_capped_by_the_config(self, server, sleeps):
        # The fake asks for Retry-After: 1; the client may wait at most 0.05 s.
        client = HttpClient(HttpConfig(retries=2, backoff=0.01, rate_limit=0, max_retry_after=0.05))
        server.fail("429-retry-after")

        get_list(client, server)

        assert len(server.requests) == 2
        assert sleeps == [0.05]  # one wait, the cap, before the one retry

    def test_403_is_never_retried(self, server, client):
        server.fail("403", times=3)

        with pytest.raises(ProviderBlocked, match="403"):
            get_list(client, server)

        assert len(server.requests) == 1

    def test_a_dropped_connection_is_retried(self, server, client):
        server.fail("drop")

        answer = get_list(client, server)

        assert answer["data"]["total"] == 2
        assert len(server.requests) == 2

    def test_a_timeout_is_unavailable_and_names_the_timeout(self, server):
        client = HttpClient(HttpConfig(read_timeout=0.3, retries=1, backoff=0.01, rate_limit=0))
        server.fail("timeout", times=2)  # each answer would come after 3 s

        with pytest.raises(ProviderUnavailable) as caught:
            get_list(client, server)

        assert host_of(server) in str(caught.value)
        assert re.search(r"time(d )?out", str(caught.value)), str(caught.value)
        assert "0.3" in str(caught.value)
        assert len(server.requests) == 2  # read timeouts of a GET are retried

    def test_a_timeout_says_the_host_did_not_answer(self, server):
        client = HttpClient(HttpConfig(read_timeout=0.3, retries=1, backoff=0.01, rate_limit=0))
        server.fail("timeout", times=2)

        with pytest.raises(ProviderUnavailable) as caught:
            get_list(client, server, _sleep=1)

        assert str(caught.value).startswith(f"{host_of(server)} timed out: no answer within 0.3 s")

    def test_connection_refused_is_unavailable(self, closed_port_url):
        client = HttpClient(HttpConfig(retries=1, backoff=0.01, rate_limit=0))

        with pytest.raises(ProviderUnavailable) as caught:
            client.get_json(closed_port_url + LIST_PATH, LIST_PARAMS)

        message = str(caught.value)
        assert message.startswith(f"cannot reach {closed_port_url.removeprefix('http://')}")
        assert "refused" in message.lower()
        assert not isinstance(caught.value, ProviderBlocked)


class TestRateLimiter:
    def test_spaces_calls_to_one_host(self, tmp_path, clock_moved_by_sleeps):
        limiter = RateLimiter(rate=20, jitter=0.1, directory=tmp_path)

        for _ in range(5):
            limiter.wait("push2.example")

        # The first call goes at once; each later one waits one slot of 1/20 s plus jitter.
        assert len(clock_moved_by_sleeps) == 4
        assert all(0.05 - 1e-5 <= wait <= 0.055 + 1e-5 for wait in clock_moved_by_sleeps)

    def test_hosts_do_not_wait_for_each_other(self, tmp_path, clock_moved_by_sleeps):
        limiter = RateLimiter(rate=2, directory=tmp_path)

        for host in ("push2.example", "push2his.example", "other.example"):
            limiter.wait(host)

        assert clock_moved_by_sleeps == []

    def test_threads_reserve_consecutive_slots(self, tmp_path):
        limiter = RateLimiter(rate=20, jitter=0, directory=tmp_path)
        threads = [threading.Thread(target=limiter.wait, args=("push2.example",)) for _ in range(5)]

        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert time.monotonic() - started >= 0.2 * 0.98

    def test_processes_share_one_budget_per_machine(self, tmp_path):
        """Two worker processes at 10/s each still make 10 requests/s together, not 20.

        Both start asking at one moment (``go``); shared slots put the k-th request at least
        k/10 s after it, however late a process wakes. Only lower bounds: load cannot fail it.
        """
        go_file = tmp_path / "go"
        script = (
            "import pathlib, sys, time; from etfs.providers.http import RateLimiter\n"
            "limiter = RateLimiter(rate=10, jitter=0, directory=sys.argv[1])\n"
            "print('ready', flush=True)\n"
            "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.001)\n"
            "for _ in range(5): limiter.wait('push2.example'); print(time.time(), flush=True)\n"
        )
        command = [sys.executable, "-c", script, str(tmp_path), str(go_file)]
        workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        assert [worker.stdout.readline() for worker in workers] == ["ready\n", "ready\n"]
        go = time.time()
        go_file.touch()
        stamps = sorted(
            float(line) for worker in workers for line in worker.communicate()[0].split()
        )

        assert len(stamps) == 10
        for k, stamp in enumerate(stamps):
            assert stamp >= go + k * 0.1 * 0.98, (k, [round(s - go, 3) for s in stamps])

    def test_rate_zero_disables_the_limit(self, tmp_path, clock_moved_by_sleeps):
        limiter = RateLimiter(rate=0, directory=tmp_path)

        for _ in range(50):
            limiter.wait("push2.example")

        assert clock_moved_by_sleeps == []

    def test_the_client_applies_the_rate(self, server, tmp_path):
        client = HttpClient(HttpConfig(retries=0, rate_limit=20, rate_limit_dir=str(tmp_path)))

        started = time.monotonic()
        for _ in range(5):
            get_list(client, server)

        assert time.monotonic() - started >= 0.2 * 0.98
        assert len(server.requests) == 5


class TestRefusalGate:
    """While one thread retries a refused answer, the client's other threads hold back."""

    @staticmethod
    def in_thread(action) -> object:
        result = []
        thread = threading.Thread(target=lambda: result.append(action()))
        thread.start()
        thread.join()
        return result[0]

    def test_another_thread_waits_while_a_refusal_is_retried(self):
        gate = RefusalGate()
        gate.refused()  # this thread retries a refused answer

        assert self.in_thread(lambda: gate.wait_turn(0.05)) is False  # held until it is done
        gate.done()
        assert self.in_thread(lambda: gate.wait_turn(0.05)) is True

    def test_two_refused_threads_do_not_wait_for_each_other(self):
        """Each goes on with its own retries; before, each sat out the whole timeout (the
        request deadline, 60 s) before every attempt, and a ban held a run for minutes."""
        gate = RefusalGate()
        gate.refused()

        def refused_and_retrying():
            gate.refused()
            try:
                return gate.wait_turn(5.0)
            finally:
                gate.done()

        assert self.in_thread(refused_and_retrying) is True
        assert gate.wait_turn(5.0) is True
