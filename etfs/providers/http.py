"""The shared HTTP session: timeouts, retries with backoff and jitter, a per-host rate limit.

The real hosts ban clients that ask too fast or retry too eagerly (shared/providers.md
section 3), so every request of a process goes through one ``HttpClient`` per source.
"""

from __future__ import annotations

import fcntl
import json
import logging
import random
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as urllib3_exceptions
from urllib3.util.retry import Retry

# ProviderBlocked lives in base (the contract); imported here for the callers that raise it.
from .base import ProviderBlocked, ProviderDataError, ProviderError, ProviderUnavailable

logger = logging.getLogger(__name__)

__all__ = ["HttpClient", "HttpConfig", "ProviderBlocked", "RateLimiter"]

RETRY_STATUSES = (429, 500, 502, 503, 504)
# How often a 200 answer with an unusable body (empty, HTML, cut-off JSON) is asked again.
BODY_RETRIES = 2
BODY_EXCERPT = 500


@dataclass(frozen=True, slots=True)
class HttpConfig:
    connect_timeout: float = 5.0
    read_timeout: float = 20.0  # the longest wait for any one piece of the answer
    deadline: float = 60.0  # the longest one attempt may take, answer body included
    retries: int = 4
    backoff: float = 1.0
    rate_limit: float = 1.0  # requests per second per host; 0 disables the limit
    rate_limit_dir: str | None = None  # where the machine-wide slots are kept
    user_agent: str = "Mozilla/5.0"
    referer: str = ""
    max_retry_after: float = 60.0


class RefusalGate:
    """While one thread retries a refusal (a 429, an HTML or empty page), the client's other
    threads wait for its outcome before they send anything.

    Without it, the other workers would go on asking during the refused request's backoff, as
    fast as the rate limit lets them (with the limit off, dozens of requests): a ban would cost
    a number of requests that depends on the rate setting. With it, what a ban costs is the
    refused request's attempts and the requests already in flight, at any rate.
    """

    def __init__(self):
        self._condition = threading.Condition()
        self._retrying: set[int] = set()  # the threads retrying a refused answer

    def refused(self) -> None:
        with self._condition:
            self._retrying.add(threading.get_ident())

    def done(self) -> None:
        with self._condition:
            self._retrying.discard(threading.get_ident())
            self._condition.notify_all()

    def wait_turn(self, timeout: float) -> bool:
        """Wait while another thread retries a refusal (False: ``timeout`` ran out first).

        A thread that retries a refusal itself goes on with its own attempts: two refused
        threads waiting for each other would each sit out the whole timeout before every
        attempt (a ban then held a run for minutes).
        """
        me = threading.get_ident()
        with self._condition:
            if me in self._retrying:
                return True
            return self._condition.wait_for(lambda: not self._retrying, timeout)


class CappedRetry(Retry):
    """urllib3 retries that honour Retry-After, but never sleep longer than a cap.

    A ban can come with a Retry-After of hours; a worker must not block that long inside one
    request. After the retries the caller sees the 429 and records it on the run. A 429 being
    retried holds the client's other requests (RefusalGate).
    """

    def __init__(
        self, *args, max_retry_after: float = 60.0, gate: RefusalGate | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after
        self.gate = gate

    def new(self, **kwargs):
        # urllib3 makes a new Retry object for every attempt; keep the cap on each of them.
        retry = super().new(**kwargs)
        retry.max_retry_after = self.max_retry_after
        retry.gate = self.gate
        return retry

    def increment(self, method=None, url=None, response=None, error=None, *args, **kwargs):
        if self.gate is not None and response is not None and response.status == 429:
            self.gate.refused()
        return super().increment(method, url, response, error, *args, **kwargs)

    def get_retry_after(self, response):
        retry_after = super().get_retry_after(response)
        if retry_after is None:
            return None
        return min(retry_after, self.max_retry_after)


class RateLimiter:
    """Spaces requests to one host at least ``1 / rate`` seconds apart, plus a little jitter.

    The budget belongs to the machine, not to a process: the real hosts ban by IP
    (providers.md section 3), and every qcluster worker on this machine shares that IP. So the
    next free slot of each host lives in a small file under ``directory``, reserved under an
    exclusive lock (flock), which every thread and process on the machine respects.
    """

    def __init__(self, rate: float, jitter: float = 0.1, directory: str | Path | None = None):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.jitter = jitter
        self.directory = Path(directory or Path(tempfile.gettempdir()) / "etfsync-rate-limit")

    def wait(self, host: str) -> None:
        if not self.interval:
            return
        slot, now = self._reserve(host)
        if slot > now:
            time.sleep(slot - now)

    def _reserve(self, host: str) -> tuple[float, float]:
        """Take the host's next free slot and move it on by one interval; (slot, now)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / (re.sub(r"[^A-Za-z0-9._-]", "_", host) + ".slot")
        with open(path, "a+b") as slot_file:
            fcntl.flock(slot_file, fcntl.LOCK_EX)
            try:
                slot_file.seek(0)
                text = slot_file.read().decode("ascii", errors="replace").strip()
                now = time.time()  # wall clock: the one clock all processes share
                try:
                    slot = max(now, float(text or 0))
                except ValueError:
                    slot = now
                if slot > now + 3600:  # a clock step or a corrupt file: start again
                    slot = now
                spacing = self.interval * (1 + random.uniform(0, self.jitter))
                slot_file.seek(0)
                slot_file.truncate()
                slot_file.write(f"{slot + spacing:.6f}".encode())
                slot_file.flush()
            finally:
                fcntl.flock(slot_file, fcntl.LOCK_UN)
        return slot, now


class HttpClient:
    """GET JSON from a source: one pooled session, rate-limited, retried, with clear errors."""

    def __init__(self, config: HttpConfig):
        self.config = config
        self.limiter = RateLimiter(config.rate_limit, directory=config.rate_limit_dir)
        self.gate = RefusalGate()
        self.session = requests.Session()
        retry = CappedRetry(
            total=config.retries,
            connect=config.retries,
            read=config.retries,
            status=config.retries,
            backoff_factor=config.backoff,
            backoff_jitter=config.backoff / 2,
            backoff_max=60,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
            max_retry_after=config.max_retry_after,
            gate=self.gate,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {"User-Agent": config.user_agent, "Accept": "application/json, text/plain, */*"}
        )
        if config.referer:
            self.session.headers["Referer"] = config.referer

    def get_json(self, url: str, params: dict) -> object:
        """Return the decoded JSON body, numbers with fractions as exact ``Decimal``s.

        A 200 answer whose body is empty, an HTML page or broken JSON is asked again (twice
        at most, with backoff): a flaky gateway sends those once in a while, while a ban
        keeps sending them, and only then is it reported as one.
        """
        return self._with_body_retries(lambda: decode_json_response(*self._get_once(url, params)))

    def get_text(self, url: str, params: dict) -> str:
        """Return a text body that is not JSON (a JavaScript answer), checked like JSON ones:
        the same rate limit, retries and ban signals (403, 429, empty answers, HTML pages)."""
        return self._with_body_retries(lambda: decode_text_response(*self._get_once(url, params)))

    def _with_body_retries(self, fetch):
        try:
            for attempt in range(BODY_RETRIES + 1):
                try:
                    return fetch()
                except (ProviderBlocked, ProviderDataError) as exc:
                    if not getattr(exc, "retryable", False) or attempt == BODY_RETRIES:
                        raise
                    if isinstance(exc, ProviderBlocked):
                        self.gate.refused()
                    time.sleep(self.config.backoff * 2**attempt * random.uniform(1, 1.5))
            raise AssertionError("unreachable")
        finally:
            self.gate.done()

    def _get_once(self, url: str, params: dict) -> tuple[str, int, bytes, object]:
        """One rate-limited GET (urllib3 retries inside): (host, status, body, headers)."""
        host = urlsplit(url).netloc
        self.gate.wait_turn(self.config.deadline)
        self.limiter.wait(host)
        deadline = time.monotonic() + self.config.deadline
        try:
            response = self.session.get(
                url,
                params=params,
                timeout=(self.config.connect_timeout, self.config.read_timeout),
                stream=True,
            )
            try:
                body = self._read_body(host, response, deadline)
            except BaseException:
                response.close()  # a connection with an unread rest of an answer is dropped
                raise
            response.raw.release_conn()  # read to the end: the pool keeps it alive
        except requests.RequestException as exc:
            if _is_timeout(exc):
                # With retries mounted, a read timeout arrives as a ConnectionError wrapping
                # urllib3's ReadTimeoutError, so the chain is inspected rather than the type.
                raise ProviderUnavailable(
                    f"{host} timed out: no answer within {self.config.read_timeout:g} s "
                    f"(tried {self.config.retries + 1} times)"
                ) from exc
            raise ProviderUnavailable(f"cannot reach {host}: {_short_reason(exc)}") from exc
        return host, response.status_code, body, response.headers

    def _read_body(self, host: str, response: requests.Response, deadline: float) -> bytes:
        """Read the answer piece by piece against the request's deadline.

        The read timeout bounds each wait for the next piece only: a body trickled a byte at a
        time would keep one request (and the run's worker) busy indefinitely without a total.
        """
        pieces = []
        while True:
            if time.monotonic() > deadline:
                received = sum(len(piece) for piece in pieces)
                raise ProviderUnavailable(
                    f"{host} did not finish its answer within {self.config.deadline:g} s "
                    f"(a trickling body; {received} bytes received); gave up"
                )
            try:
                piece = response.raw.read1(64 * 1024, decode_content=True)
            except (urllib3_exceptions.HTTPError, OSError) as exc:
                raise requests.ConnectionError(exc) from exc
            if not piece:
                return b"".join(pieces)
            pieces.append(piece)

    def close(self) -> None:
        self.session.close()


def decode_json_response(host: str, status: int, body: bytes, headers) -> object:
    """Turn one HTTP answer into decoded JSON or the error that says what was wrong."""
    text = decode_text_response(host, status, body, headers, expected="JSON")
    try:
        return json.loads(text, parse_float=Decimal, parse_int=json_int)
    except json.JSONDecodeError as exc:
        jsonp = text[:1] not in "{["
        error = ProviderDataError(
            f"{host} sent invalid JSON{' (JSONP-wrapped?)' if jsonp else ''}: "
            f"{exc.msg} at character {exc.pos}",
            body=text[:BODY_EXCERPT],
        )
        raise (error if jsonp else _retryable(error)) from exc


def decode_text_response(
    host: str, status: int, body: bytes, headers, *, expected: str = "data"
) -> str:
    """The body of a usable answer as text, or the error that says what was wrong."""
    if status == 403:
        raise ProviderBlocked(
            f"{host} answered HTTP 403 (refused; not retried)", body=body[:BODY_EXCERPT]
        )
    if status == 429:
        wait = headers.get("Retry-After")
        suffix = f", Retry-After {wait} s" if wait else ""
        raise ProviderBlocked(
            f"{host} answered HTTP 429 Too Many Requests{suffix}", body=body[:BODY_EXCERPT]
        )
    if status >= 500:
        raise ProviderUnavailable(f"{host} answered HTTP {status} after retries")
    if status != 200:
        raise ProviderDataError(f"{host} answered HTTP {status}", body=body[:BODY_EXCERPT])
    text = _decode(body, headers).strip()
    if not text:
        raise _retryable(ProviderBlocked(f"{host} sent an empty answer (a sign of throttling)"))
    if text[:1] == "<":
        raise _retryable(
            ProviderBlocked(
                f"{host} sent an HTML page instead of {expected} "
                "(an access-denied or captcha page?)",
                body=text[:BODY_EXCERPT],
            )
        )
    return text


def json_int(text: str) -> int | Decimal:
    """A JSON integer; one too long for Python's int() (over 4,300 digits) as a Decimal, so
    that the one value is refused by the parser that reads it, not the whole answer."""
    return int(text) if len(text) < 4000 else Decimal(text)


def _decode(body: bytes, headers) -> str:
    """UTF-8 first, whatever the label says; else the charset the answer names; else GB18030.

    JSON is UTF-8 (RFC 8259 section 8.1), and a gateway that labels UTF-8 bytes
    ``charset=iso-8859-1`` turned every fund name into mojibake when the label was trusted.
    Text that is not UTF-8 rarely decodes as UTF-8 by chance, so the label (the fund site's
    older pages send GB18030) still decides for the answers that need it.
    """
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    match = re.search(r"charset=([\w-]+)", headers.get("Content-Type", "") or "", re.IGNORECASE)
    try:
        return body.decode(match.group(1) if match else "gb18030")
    except (LookupError, UnicodeDecodeError):
        try:
            return body.decode("gb18030")
        except UnicodeDecodeError:
            return body.decode("utf-8", errors="replace")


def _retryable(error: ProviderError) -> ProviderError:
    """Mark an answer worth asking again: it may be a gateway's hiccup rather than the source."""
    error.retryable = True
    return error


def _is_timeout(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, urllib3_exceptions.NewConnectionError):
            return False  # a refused connection (urllib3 files it under connect timeouts)
        if isinstance(exc, (requests.Timeout, urllib3_exceptions.TimeoutError)):
            return True
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException):
            inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        exc = inner or exc.__cause__ or exc.__context__
    return False


def _short_reason(exc: Exception) -> str:
    """The innermost reason of a requests/urllib3 error, without the wrapper noise."""
    reason = exc
    while True:
        inner = getattr(reason, "reason", None) or (reason.args[0] if reason.args else None)
        if isinstance(inner, Exception) and inner is not reason:
            reason = inner
            continue
        break
    # urllib3 prefixes "HTTPSConnection(host=..., port=443): "; the host is said already.
    text = re.sub(r"^<?\w+Connection(?: object at 0x[0-9a-f]+>|\([^)]*\))[:>]?\s*", "", str(reason))
    return text if len(text) < 200 else text[:200] + "…"
