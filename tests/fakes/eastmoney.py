"""A local HTTP server that answers like Eastmoney push2/push2his (shared/providers.md).

It keeps the real traps: pages capped at 100 rows, sorting by the requested field (sorting by a
moving field drops funds), ``np``/``fltt`` shapes, "-" placeholders, ``data: null`` for unknown
securities; and it injects faults on request (timeouts, dropped connections, 5xx/429, HTML
captcha pages, truncated JSON, wrong shapes, garbage bars, a list that shrinks). Tests,
benchmarks and offline users run it:

    python -m tests.fakes.eastmoney --port 8765 --funds 40 --days 300 [--stocks 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

# Pure (no Django): the fake also runs as a program, for offline use and the benchmarks.
from etfs.market import SHANGHAI, shipped_trading_days

PAGE_CAP = 100
INDEX_CODE = "000001"  # the SSE Composite (secid 1.000001): the market's calendar
THOUSANDTH = Decimal("0.001")
# When the real list last updates a row after the close (shared/providers.md section 5).
LIST_UPDATED = {0: dt.time(15, 34), 1: dt.time(16, 11)}


def fake_trading_days(start: dt.date, end: dt.date, holidays=()) -> list[dt.date]:
    """The market's trading days in [start, end]: the shipped calendar where it reaches; after
    it, weekdays except ``holidays`` (days the market knows and no shipped file does)."""
    shipped = shipped_trading_days()
    days = [day for day in shipped if start <= day <= end and day not in holidays]
    day = max(start, shipped[-1] + dt.timedelta(days=1))
    while day <= end:
        if day.weekday() < 5 and day not in holidays:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


@dataclass
class FakeBar:
    day: dt.date
    open: Decimal
    close: Decimal
    high: Decimal
    low: Decimal
    lots: int
    amount: Decimal

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        self.__dict__.pop("_kline", None)  # a test changed the bar: its line is written anew

    def kline(self) -> str:
        """The bar's k-line, written once: a full history of 969 bars took 1.7 ms to write, half
        of what the server's answer costs, in the benchmarks' CPU beside the sync's."""
        line = self.__dict__.get("_kline")
        if line is None:
            line = self.__dict__["_kline"] = (
                f"{self.day.isoformat()},{self.open},{self.close},{self.high},{self.low},"
                f"{self.lots},{self.amount},1.00,0.00,0.000,0.50"
            )
        return line


@dataclass
class FakeFund:
    code: str
    market: int  # 1 Shanghai, 0 Shenzhen
    name: str
    bars: list[FakeBar] = field(default_factory=list)
    change_pct: Decimal = Decimal("0")

    def on_board(self, tokens: set[str]) -> bool:
        """Funds are on the ETF boards: any ``fs`` that names no stock board (see
        tests/fakes/eastmoney_stocks.py)."""
        return not any(token.startswith("m:") for token in tokens)

    def list_row(
        self, fields: set[str], today_only: dt.date | None, updated: dt.time | None = None
    ) -> dict:
        bar = self.bars[-1] if self.bars else None
        if bar is not None and today_only is not None and bar.day != today_only:
            bar = None
        at = dt.datetime.combine(
            bar.day if bar else dt.date(2023, 11, 14),
            updated or LIST_UPDATED[self.market],
            tzinfo=SHANGHAI,
        )
        row = {
            "f12": self.code,
            "f13": self.market,
            "f14": self.name,
            "f2": bar.close if bar else "-",
            "f3": self.change_pct,
            "f5": bar.lots if bar else "-",
            "f6": bar.amount if bar else "-",
            "f15": bar.high if bar else "-",
            "f16": bar.low if bar else "-",
            "f17": bar.open if bar else "-",
            "f18": self.bars[-2].close if len(self.bars) > 1 else "-",
            "f124": int(at.timestamp()),
            "f297": int(bar.day.strftime("%Y%m%d")) if bar else "-",
        }
        return {key: value for key, value in row.items() if key in fields}


def make_bars(seed: int, start: dt.date, end: dt.date, holidays=()) -> list[FakeBar]:
    rng = random.Random(seed)
    price = Decimal(rng.randint(800, 5000)) / 1000
    bars = []
    for day in fake_trading_days(start, end, holidays):
        open_ = price
        close = max(
            Decimal("0.100"),
            (price * Decimal(1 + rng.uniform(-0.03, 0.03))).quantize(THOUSANDTH),
        )
        high = (max(open_, close) * Decimal(1 + rng.uniform(0, 0.01))).quantize(
            THOUSANDTH, ROUND_HALF_UP
        )
        low = (min(open_, close) * Decimal(1 - rng.uniform(0, 0.01))).quantize(THOUSANDTH)
        lots = rng.randint(1000, 2_000_000)
        average = low + (high - low) * Decimal(rng.random())
        amount = (average * lots * 100).quantize(Decimal("0.01"))
        bars.append(FakeBar(day, open_, close, high, low, lots, amount))
        price = close
    return bars


def make_funds(
    count: int, start: dt.date, end: dt.date, seed: int = 7, holidays=()
) -> list[FakeFund]:
    """Half Shanghai (51xxxx/56xxxx), half Shenzhen (15xxxx), each with its own history."""
    funds = []
    for index in range(count):
        if index % 2 == 0:
            code, market, name = f"{510000 + index // 2:06d}", 1, f"沪ETF{index // 2}"
        else:
            code, market, name = f"{159000 + index // 2:06d}", 0, f"深ETF{index // 2}"
        funds.append(FakeFund(code, market, name, make_bars(seed + index, start, end, holidays)))
        funds[-1].change_pct = Decimal(random.Random(index).randint(-500, 500)) / 100
    return funds


class FakeEastmoney:
    """The server's state: funds, faults to inject, the requests it saw."""

    def __init__(self, funds: list[FakeFund] | None = None, latency: float = 0.0, seed: int = 0):
        self.rng = random.Random(seed)  # the moving sort key moves the same way every run
        self.funds: dict[tuple[int, str], FakeFund] = {}
        for fund in funds or []:
            self.add(fund)
        self.latency = latency
        # (path fragment or None, code or None, fault, list page number or None, persistent)
        self.faults: deque = deque()
        # Share of each market's funds the list shows (1.0: all); see shrink_list().
        self.list_fraction = 1.0
        # Rows per list page at most; the real server caps at 100, some mirrors at less.
        self.page_cap = PAGE_CAP
        # Traps of other sources (or of this one on another day): offsets computed from the
        # requested page size while fewer rows come back, and a sort field that is ignored.
        self.offset_by_requested_size = False
        self.forced_sort_field: str | None = None
        self.requests: list[Request] = []
        self.list_today_only: dt.date | None = None
        # The "trickle" fault sends the answer in pieces of this many bytes, one per interval
        # (seconds): each piece comes well within a read timeout, the whole answer very late.
        self.trickle_bytes = 1
        self.trickle_interval = 2.0
        self.trickled = 0  # bytes of trickled answers actually sent
        # A ban: from the request for ``ban_trigger``'s code on, every request gets its fault.
        self.ban_trigger: tuple[str, str] | None = None
        self.banned_with: str | None = None
        # Called with every request as it arrives (in the server's thread): a test's hook to
        # make something happen at that moment elsewhere (a database connection ending...).
        self.on_request = None
        # Codes the k-lines serve but the list leaves out, and codes whose list row comes twice.
        self.unlisted: set[str] = set()
        self.duplicated: set[str] = set()
        # A proxy that alters single fields of the list: {code: {field: value}}, code None for
        # every row (a value of any JSON type: "garbage", [], {}...).
        self.list_overrides: dict[str | None, dict] = {}
        # The Content-Type of every JSON answer (a gateway may label UTF-8 bytes otherwise).
        self.json_content_type = "application/json"
        # Every list row's update time (f124) on its bar's day; None: 15:34 Shenzhen, 16:11
        # Shanghai, as recorded.
        self.list_updated_at: dt.time | None = None
        # Fields every list row leaves out, as a proxy that drops one would (e.g. {"f297"}).
        self.list_fields_dropped: set[str] = set()
        # The SSE Composite index's trading days (secid 1.000001); None: every day a fund has a
        # bar. set_index_days() gives it days that reach past the shipped calendar.
        self.index_days: list[dt.date] | None = None
        self.lock = threading.Lock()
        self._server = None
        self._thread = None

    # -- state --
    def add(self, fund: FakeFund) -> None:
        self.funds[(fund.market, fund.code)] = fund

    def set_index_days(self, days) -> None:
        self.index_days = sorted(days)

    def calendar_days(self) -> list[dt.date]:
        if self.index_days is not None:
            return self.index_days
        return sorted({bar.day for fund in self.funds.values() for bar in fund.bars})

    def remove(self, code: str) -> None:
        for key in [key for key in self.funds if key[1] == code]:
            del self.funds[key]

    def fail(
        self,
        fault: str,
        *,
        times: int | None = 1,
        path: str | None = None,
        code: str | None = None,
        page: int | None = None,
    ):
        """Queue ``fault`` for the next ``times`` matching requests (every one if None).

        ``page`` restricts the fault to list requests for that page number (``pn``).
        Faults: timeout, drop, 500, 502, 503, 429, 429-retry-after, 403, html, empty,
        truncated, wrong-shape, diff-object, jsonp, data-null, garbage (every k-line of the
        answer is malformed or impossible), trickle (the answer sent a few bytes at a time,
        see ``trickle_bytes``). A fault queued with ``times=None`` stays until
        ``recover()``: a ban, or an outage, that lasts.
        """
        with self.lock:
            if times is None:
                self.faults.append((path, code, fault, page, True))
            for _ in range(times or 0):
                self.faults.append((path, code, fault, page, False))

    def ban_from(self, code: str, fault: str) -> None:
        """Ban this client when it asks for ``code``: that request and every later one, on
        any path, gets ``fault``, as a real ban refuses everything from then on."""
        with self.lock:
            self.ban_trigger = (code, fault)

    def recover(self) -> None:
        """Drop every queued fault and ban, and show the whole list again."""
        with self.lock:
            self.faults.clear()
            self.ban_trigger = self.banned_with = None
            self.list_fraction = 1.0

    def shrink_list(self, fraction: float) -> None:
        """From now on the list shows only this share of each market's funds (k-lines stay)."""
        self.list_fraction = fraction

    def paths(self, fragment: str) -> list[Request]:
        return [request for request in self.requests if fragment in request.path]

    def requests_since(self, moment: float) -> list[Request]:
        """Requests received at or after ``moment`` (a ``time.time()`` value, so that it
        compares with timestamps other processes wrote to the database)."""
        return [request for request in self.requests if request.received_at >= moment]

    # -- server --
    def start(self, port: int = 0) -> str:
        self._server = make_server("127.0.0.1", port, self.wsgi, threaded=True)
        # A short poll interval lets stop() return at once (the default waits up to 0.5 s).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def wsgi(self, environ, start_response):
        request = Request(environ)
        request.received_at = time.time()
        with self.lock:
            self.requests.append(request)
            fault = self._take_fault(request)
        if self.on_request is not None:
            self.on_request(request)
        if self.latency:
            time.sleep(self.latency)
        if fault == "drop":
            # Close the socket without an answer, as the real hosts do when they throttle.
            connection = environ.get("werkzeug.socket")
            if connection is not None:
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            raise ConnectionAbortedError("fault: drop")
        if fault == "timeout":
            time.sleep(float(request.args.get("_sleep", 3)))
        response = self._fault_response(fault) if fault and fault != "timeout" else None
        if response is None:
            response = self.route(request, fault)
        return response(environ, start_response)

    def _take_fault(self, request: Request):
        secid = request.args.get("secid", "")
        if self.ban_trigger and secid.endswith("." + self.ban_trigger[0]):
            self.banned_with = self.ban_trigger[1]
        if self.banned_with:
            return self.banned_with
        for entry in list(self.faults):
            path, code, fault, page, persistent = entry
            if path and path not in request.path:
                continue
            if code and not secid.endswith("." + code):
                continue
            if page is not None and request.args.get("pn", "1") != str(page):
                continue
            if not persistent:
                self.faults.remove(entry)
            return fault
        return None

    def _fault_response(self, fault: str) -> Response | None:
        if fault in ("500", "502", "503", "403", "429"):
            return Response("error", status=int(fault))
        if fault == "429-retry-after":
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        if fault == "html":
            body = "<html><head><title>访问受限</title></head><body>captcha</body></html>"
            return Response(body, status=200, mimetype="text/html")
        if fault == "empty":
            return Response("", status=200)
        return None

    def route(self, request: Request, fault: str | None) -> Response:
        if request.path == "/api/qt/clist/get":
            payload = self.list_payload(request, fault)
        elif request.path == "/api/qt/stock/kline/get":
            payload = self.kline_payload(request, fault)
        else:
            return Response("not found", status=404)
        if fault == "wrong-shape":
            payload = {"rc": 0, "data": {"items": [1, 2, 3]}}
        if fault == "data-null":
            payload = {**payload, "data": None}
        body = json.dumps(payload, ensure_ascii=False, default=_json_number)
        if fault == "truncated":
            body = body[: len(body) // 2]
        if fault == "jsonp":
            body = f"jQuery1124({body});"
        if fault == "trickle":
            return self._trickled(body.encode())
        return Response(body.encode(), content_type=self.json_content_type)

    def _trickled(self, data: bytes) -> Response:
        def pieces():
            for start in range(0, len(data), self.trickle_bytes):
                time.sleep(self.trickle_interval)
                piece = data[start : start + self.trickle_bytes]
                yield piece
                with self.lock:
                    self.trickled += len(piece)

        headers = {"Content-Length": str(len(data))}
        return Response(pieces(), mimetype="application/json", headers=headers)

    def list_payload(self, request: Request, fault: str | None) -> dict:
        page = int(request.args.get("pn", 1))
        requested = int(request.args.get("pz", 20))
        size = min(requested, self.page_cap)
        offset = (page - 1) * (requested if self.offset_by_requested_size else size)
        sort_field = self.forced_sort_field or request.args.get("fid", "f3")
        descending = request.args.get("po", "1") == "1"
        fields = set(request.args.get("fields", "f12,f13,f14").split(","))
        boards = {token.strip() for token in request.args.get("fs", "").split(",")}
        funds = sorted(
            (fund for fund in self._listed_funds() if fund.on_board(boards)),
            key=lambda fund: fund.code if sort_field == "f12" else fund.change_pct,
            reverse=descending,
        )
        if sort_field != "f12":
            # A moving sort key: between two page requests the order shifts.
            for fund in self.funds.values():
                fund.change_pct += Decimal(self.rng.randint(-50, 50)) / 100
        if not funds:
            return _envelope(None)
        rows = [
            {
                **fund.list_row(
                    fields - self.list_fields_dropped, self.list_today_only, self.list_updated_at
                ),
                **self.list_overrides.get(None, {}),
                **self.list_overrides.get(fund.code, {}),
            }
            for fund in funds
            for _ in range(2 if fund.code in self.duplicated else 1)
        ]
        chunk = rows[offset : offset + size]
        if request.args.get("fltt") != "2":
            chunk = [_scaled(row) for row in chunk]
        diff = chunk
        if request.args.get("np") != "1" or fault == "diff-object":
            diff = {str(index): row for index, row in enumerate(chunk)}
        return _envelope({"total": len(rows), "diff": diff})

    def _listed_funds(self) -> list[FakeFund]:
        """The funds the list shows: all, or after shrink_list() a share of each market's."""
        if self.list_fraction >= 1:
            return [fund for fund in self.funds.values() if fund.code not in self.unlisted]
        shown = []
        for market in (0, 1):
            funds = sorted(
                (fund for fund in self.funds.values() if fund.market == market),
                key=lambda fund: fund.code,
            )
            shown.extend(funds[: int(len(funds) * self.list_fraction)])
        return shown

    def kline_payload(self, request: Request, fault: str | None) -> dict:
        market, _, code = request.args.get("secid", "").partition(".")
        if (market, code) == ("1", INDEX_CODE):
            return self.index_payload(request, fault)
        fund = self.funds.get((int(market) if market.isdigit() else -1, code))
        if fund is None:
            return _envelope(None)
        begin = dt.datetime.strptime(request.args.get("beg", "19900101"), "%Y%m%d").date()
        end = dt.datetime.strptime(request.args.get("end", "20500101"), "%Y%m%d").date()
        lines = [bar.kline() for bar in fund.bars if begin <= bar.day <= end]
        if fault == "garbage":
            lines = [_garbage(line, index) for index, line in enumerate(lines)]
        # Stocks (tests/fakes/eastmoney_stocks.py) have 2 decimals; a long-delisted one no rows.
        empty = getattr(fund, "empty_klines", False)
        return _envelope(
            {
                "code": fund.code,
                "market": fund.market,
                "name": fund.name,
                "decimal": getattr(fund, "decimal", 3),
                "dktotal": 0 if empty else len(fund.bars),
                "klines": [] if empty else lines,
            }
        )

    def index_payload(self, request: Request, fault: str | None) -> dict:
        """The SSE Composite's daily k-lines: a bar on every trading day (decimal 2)."""
        begin = dt.datetime.strptime(request.args.get("beg", "19900101"), "%Y%m%d").date()
        end = dt.datetime.strptime(request.args.get("end", "20500101"), "%Y%m%d").date()
        days = self.calendar_days()
        lines = [
            f"{day.isoformat()},3300.00,3310.00,3320.00,3290.00,300000000,400000000000.00,"
            "0.90,0.30,10.00,0.70"
            for day in days
            if begin <= day <= end
        ]
        if fault == "no-rows":  # a throttled gateway's answer: HTTP 200, nothing in it
            return _envelope({"code": INDEX_CODE, "market": 1, "dktotal": 0, "klines": []})
        return _envelope(
            {
                "code": INDEX_CODE,
                "market": 1,
                "name": "上证指数",
                "decimal": 2,
                "dktotal": len(days),
                "klines": lines,
            }
        )


# Ways a k-line goes bad: not a number, an impossible value, a field missing, a bad date.
GARBAGE = (
    lambda parts: [parts[0], "abc", *parts[2:]],
    lambda parts: [parts[0], parts[1], "-1.000", *parts[3:]],
    lambda parts: [parts[0], parts[1], parts[2], "0.001", *parts[4:]],  # high below open/close
    lambda parts: parts[:4],
    lambda parts: ["2024-02-30", *parts[1:]],
    lambda parts: [*parts[:5], "-", *parts[6:]],
    lambda parts: [*parts[:5], "0x10", *parts[6:]],  # a volume that is not a decimal
    lambda parts: [parts[0], *["12345678901.000"] * 4, *parts[5:]],  # too large for any column
)


def _garbage(line: str, index: int) -> str:
    return ",".join(GARBAGE[index % len(GARBAGE)](line.split(",")))


def _envelope(data) -> dict:
    return {
        "rc": 0,
        "rt": 6,
        "svr": 181670098,
        "lt": 1,
        "full": 1,
        "dlmkts": "",
        "dsc": "0",
        "data": data,
    }


def _scaled(row: dict) -> dict:
    """Without fltt=2 the source sends prices as integers scaled by 10^3."""
    scaled = dict(row)
    for key in ("f2", "f15", "f16", "f17", "f18"):
        if isinstance(scaled.get(key), Decimal):
            scaled[key] = int(scaled[key] * 1000)
    return scaled


def _json_number(value):
    # The real source writes numbers with fltt=2 as JSON decimals; a float's repr keeps the
    # three price decimals exactly.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--funds", type=int, default=40)
    parser.add_argument(
        "--stocks",
        type=int,
        default=0,
        help="A-share stocks on the four boards besides (a few ST, two delisted); "
        "give tests.fakes.exchanges the same number",
    )
    parser.add_argument("--days", type=int, default=365, help="calendar days of history")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--end", type=dt.date.fromisoformat, help="last day (default today)")
    parser.add_argument(
        "--holiday",
        type=dt.date.fromisoformat,
        action="append",
        default=[],
        help="a weekday after the shipped calendar on which the market is closed; repeatable",
    )
    args = parser.parse_args()
    end = args.end or dt.date.today()
    funds = make_funds(args.funds, end - dt.timedelta(days=args.days), end, holidays=args.holiday)
    # The program also answers for the fund data host and the datacenter (no events), so
    # ETFSYNC_EASTMONEY_FUND_URL and ETFSYNC_EASTMONEY_DATACENTER_URL can point at it too.
    from .eastmoney_datacenter import FakeEastmoneyDatacenter
    from .eastmoney_stocks import program_stocks

    listed, delisted = program_stocks(
        args.stocks, end - dt.timedelta(days=args.days), end, holidays=args.holiday
    )
    server = FakeEastmoneyDatacenter([*funds, *listed, *delisted], latency=args.latency)
    url = server.start(args.port)
    stocks = f" and {args.stocks} stocks" if args.stocks else ""
    print(
        f"fake Eastmoney serving {args.funds} funds{stocks} at {url} (Ctrl-C to stop)", flush=True
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
