"""Eastmoney push2 (fund lists with the day's quote) and push2his (daily k-lines).

Wire formats: shared/providers.md sections 1 and 2. ``fetch_*`` methods do the I/O;
``parse_*`` functions are pure and raise ``ProviderDataError`` naming what was wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .base import (
    XSHE,
    XSHG,
    Bar,
    BarRows,
    DailyBarSource,
    DayBars,
    FundListSource,
    KlineSeries,
    ListFetch,
    Listing,
    ListPage,
    ListPassBarSource,
    ListProgress,
    ProviderDataError,
    ProviderError,
    RowProblem,
    TradingDaySource,
    bar_sanity_problem,
    checked_bars,
    drop_duplicate_dates,
    is_security_code,
    surely_passes_bar_checks,
    unit_warnings,
)
from .http import BODY_EXCERPT, HttpClient, HttpConfig

# f13 of the list and the first part of a secid: the source's own market ids.
MARKET_TO_EXCHANGE = {1: XSHG, 0: XSHE}
EXCHANGE_TO_MARKET = {exchange: market for market, exchange in MARKET_TO_EXCHANGE.items()}

LIST_PATH = "/api/qt/clist/get"
KLINE_PATH = "/api/qt/stock/kline/get"
# The server caps a page at 100 rows whatever pz asks for (providers.md section 3).
LIST_PAGE_SIZE = 100
# MK0827 holds bond, gold and commodity ETFs that older clients miss.
ETF_BOARDS = "b:MK0021,b:MK0022,b:MK0023,b:MK0024,b:MK0827"
LIST_FIELDS = "f12,f13,f14,f2,f5,f6,f15,f16,f17,f18,f124,f297"
LIST_TOKEN = "bd1d9ddb04089700cf9c27f6f7426281"
KLINE_TOKEN = "7eea3edcaed734bea9cbfc24409ed989"
KLINE_FIELDS = "f51,f52,f53,f54,f55,f56,f57,f58,f59,f60,f61"
PLACEHOLDERS = {"-", "--", "", "null", "None", "NaN"}
SHARES_PER_LOT = 100
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MARKET_CLOSE = dt.time(15, 0)
# The SSE Composite index has a daily bar on every SSE/SZSE trading day and on no other day
# (providers.md section 5): its k-line dates are the trading calendar.
CALENDAR_INDEX_CODE = "000001"


# --- parsing (pure) --------------------------------------------------------------------------


def parse_list_page(payload: object) -> ListPage:
    """Parse one page of ``/api/qt/clist/get`` (sent with ``fltt=2`` and ``np=1``)."""
    data = _envelope_data(payload, "ETF list")
    if data is None:  # nothing matches the boards (or the last page was passed)
        return ListPage(total=0, listings=[])
    if not isinstance(data, dict):
        raise ProviderDataError(f"ETF list: 'data' is {type(data).__name__}, expected an object")
    total = data.get("total")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise ProviderDataError(f"ETF list: 'data.total' is {total!r}, expected a count")
    rows = data.get("diff")
    if isinstance(rows, dict):
        raise ProviderDataError(
            "ETF list: 'data.diff' is an object keyed by position; the request asks for a list "
            "(np=1), so this is not the answer we asked for"
        )
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise ProviderDataError(f"ETF list: 'data.diff' is {type(rows).__name__}, expected a list")
    listings, problems, seen = [], [], set()
    for row in rows:
        try:
            listing = parse_listing(row)
        except ProviderDataError as exc:
            code = row.get("f12", "") if isinstance(row, dict) else ""
            problems.append(RowProblem(str(exc), code=str(code), row=repr(row)[:300]))
            continue
        if (listing.code, listing.exchange) in seen:
            problems.append(
                RowProblem(
                    f"ETF list row {listing.code}: listed twice in one answer; the first row "
                    "was kept",
                    code=listing.code,
                    row=repr(row)[:300],
                )
            )
            continue
        seen.add((listing.code, listing.exchange))
        listings.append(listing)
    return ListPage(total=total, listings=listings, problems=problems, raw_rows=len(rows))


def parse_listing(row: object) -> Listing:
    if not isinstance(row, dict):
        raise ProviderDataError(f"ETF list row is {type(row).__name__}, expected an object")
    code = row.get("f12")
    if isinstance(code, int) and not isinstance(code, bool):
        code = f"{code:06d}"
    if not is_security_code(code):
        raise ProviderDataError(f"ETF list row: code (f12) {code!r} is not six ASCII digits")
    market = row.get("f13")
    if market not in MARKET_TO_EXCHANGE or isinstance(market, bool):
        raise ProviderDataError(f"ETF list row {code}: unknown market id (f13) {market!r}")
    name = row.get("f14")
    if not isinstance(name, str) or name.strip() in PLACEHOLDERS:
        raise ProviderDataError(f"ETF list row {code}: name (f14) missing")
    where = f"ETF list row {code}"
    lots = _decimal(row.get("f5"), where, "volume (f5)")
    return Listing(
        code=code,
        exchange=MARKET_TO_EXCHANGE[market],
        name=name.strip(),
        open=_price(row.get("f17"), where, "open (f17)"),
        high=_price(row.get("f15"), where, "high (f15)"),
        low=_price(row.get("f16"), where, "low (f16)"),
        close=_price(row.get("f2"), where, "last price (f2)"),
        previous_close=_price(row.get("f18"), where, "previous close (f18)"),
        volume=None if lots is None else _lots_to_shares(lots, where),
        amount=_decimal(row.get("f6"), where, "amount (f6)"),
        data_date=_yyyymmdd(row.get("f297"), where),
        updated_at=_unix_time(row.get("f124"), where),
    )


def parse_kline_response(
    payload: object, *, code: str, exchange: str, today: dt.date | None = None
) -> KlineSeries:
    """Parse ``/api/qt/stock/kline/get`` for one fund (unadjusted, ``fqt=0``).

    Bars that fail a sanity check are left out and reported as problems; the rest are kept.
    """
    where = f"k-lines {code}"
    data = _envelope_data(payload, where)
    if data is None:
        raise ProviderDataError(f"{where}: the source knows no such security (data is null)")
    if not isinstance(data, dict):
        raise ProviderDataError(f"{where}: 'data' is {type(data).__name__}, expected an object")
    if str(data.get("code", code)) != code:
        raise ProviderDataError(f"{where}: the answer is for code {data.get('code')!r}")
    market = data.get("market")
    if market is not None and MARKET_TO_EXCHANGE.get(market) not in (None, exchange):
        raise ProviderDataError(f"{where}: the answer is for market {market!r}, not {exchange}")
    if "klines" not in data:
        raise ProviderDataError(f"{where}: 'data' has no 'klines' (not the answer we asked for)")
    lines = data["klines"]
    if lines is None:
        lines = []
    if not isinstance(lines, list):
        raise ProviderDataError(f"{where}: 'klines' is {type(lines).__name__}, expected a list")
    fast = _plain_klines(lines, today)
    if fast is not None:
        return KlineSeries(code=code, exchange=exchange, bars=fast, problems=[])
    bars, problems = [], []
    for line in lines:
        try:
            bar = parse_kline(line, where)
        except ProviderDataError as exc:
            problems.append(RowProblem(str(exc), code=code, row=str(line)[:300]))
            continue
        reason = bar_sanity_problem(bar, today)
        if reason:
            problems.append(RowProblem(f"{where} {bar.trade_date}: {reason}", code, str(line)))
            continue
        bars.append(bar)
    bars, duplicates = drop_duplicate_dates(bars, code, where)
    problems.extend(duplicates)
    problems.extend(unit_warnings(bars, code, where))
    return KlineSeries(
        code=code, exchange=exchange, bars=BarRows.from_bars(bars), problems=problems
    )


# The first seven fields of a k-line in the form the source writes them: an ISO date, four
# prices of at most 7 + 4 digits, whole lots, an amount.
_PLAIN_KLINE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:,[0-9]{1,7}(?:\.[0-9]{1,4})?){4},[0-9]{1,15},"
    r"[0-9]{1,18}(?:\.[0-9]{1,4})?(?:,|$)"
).match


def _plain_klines(lines: list, today: dt.date | None) -> BarRows | None:
    """The usual answer, at a fraction of parse_kline's cost: every line plain text that
    surely passes the checks becomes a BarRows line without a Decimal being made (the
    database parses the numbers). None as soon as a line needs a closer look: the caller then
    parses the answer line by line, with the exact checks and their messages."""
    limit = today.isoformat() if today is not None else "9999-12-31"
    rows, days = [], []
    for line in lines:
        if type(line) is not str or _PLAIN_KLINE(line) is None:
            return None
        day, open_, close, high, low, lots, amount = line.split(",", 7)[:7]
        volume = int(lots) * SHARES_PER_LOT
        if day > limit or not _is_calendar_day(day):
            return None
        if not surely_passes_bar_checks(
            float(open_), float(high), float(low), float(close), volume, float(amount)
        ):
            return None
        rows.append(f"{day}\t{open_}\t{high}\t{low}\t{close}\t{volume}\t{amount}")
        days.append(day)
    if len(set(days)) != len(days):
        return None  # a date twice: the exact path reports it
    return BarRows(rows, min(days), max(days)) if rows else BarRows([])


@functools.lru_cache(maxsize=16384)
def _is_calendar_day(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def parse_index_days(payload: object, *, code: str = CALENDAR_INDEX_CODE) -> list[dt.date]:
    """The dates of an index's k-line answer, sorted: the days the market traded.

    An empty ``klines`` is a fault, not "no trading": throttled gateways answer HTTP 200 with
    ``dktotal: 0, klines: []`` (providers.md section 5). Callers ask for a window that holds
    known trading days, so a true answer is never empty. A malformed line fails the whole
    answer: a calendar with a hole would call a trading day closed.
    """
    where = f"index k-lines {code}"
    data = _envelope_data(payload, where)
    if not isinstance(data, dict):
        raise ProviderDataError(f"{where}: 'data' is {data!r}, expected an object")
    if str(data.get("code", code)) != code:
        raise ProviderDataError(f"{where}: the answer is for code {data.get('code')!r}")
    lines = data.get("klines")
    if not isinstance(lines, list):
        raise ProviderDataError(f"{where}: 'klines' is {lines!r}, expected a list")
    if not lines:
        raise ProviderDataError(
            f"{where}: the answer has no rows (dktotal {data.get('dktotal')!r}), which a "
            "throttled gateway sends; not taken as days without trading"
        )
    days = {parse_kline(line, where).trade_date for line in lines}
    if len(days) != len(lines):
        raise ProviderDataError(f"{where}: a date appears more than once in one answer")
    return sorted(days)


def parse_kline(line: object, where: str) -> Bar:
    if not isinstance(line, str):
        raise ProviderDataError(f"{where}: k-line is {type(line).__name__}, expected a string")
    parts = line.split(",")
    if len(parts) < 7:
        raise ProviderDataError(f"{where}: k-line has {len(parts)} fields, expected 11: {line!r}")
    try:
        trade_date = dt.date.fromisoformat(parts[0])
    except ValueError:
        raise ProviderDataError(f"{where}: bad date {parts[0]!r}") from None
    at = f"{where} {parts[0]}"
    # f51..f57: date, open, close, high, low, volume (lots), amount (yuan) -- close comes second.
    values = {}
    for name, text in zip(("open", "close", "high", "low"), parts[1:5], strict=True):
        value = _price(text, at, name)
        if value is None:
            raise ProviderDataError(f"{at}: {name} is a placeholder {text!r}")
        values[name] = value
    lots = _decimal(parts[5], at, "volume")
    amount = _decimal(parts[6], at, "amount")
    if lots is None or amount is None:
        raise ProviderDataError(f"{at}: volume or amount is a placeholder")
    return Bar(
        trade_date=trade_date,
        volume=_lots_to_shares(lots, at),
        amount=amount,
        **values,
    )


def _envelope_data(payload: object, where: str) -> object:
    if not isinstance(payload, dict):
        raise ProviderDataError(f"{where}: answer is {type(payload).__name__}, expected an object")
    if "data" not in payload:
        raise ProviderDataError(f"{where}: answer has no 'data' field")
    rc = payload.get("rc", 0)
    if rc != 0:
        raise ProviderDataError(f"{where}: the source answered with error code rc={rc}")
    return payload["data"]


def _decimal(value: object, where: str, name: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and value.strip() in PLACEHOLDERS):
        return None
    if isinstance(value, bool):
        raise ProviderDataError(f"{where}: {name} is a boolean")
    if isinstance(value, float):  # only when a caller decoded JSON without Decimal
        if not math.isfinite(value):
            raise ProviderDataError(f"{where}: {name} is {value}")
        value = repr(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise ProviderDataError(f"{where}: {name} {value!r} is not a number") from None
    if not number.is_finite():
        raise ProviderDataError(f"{where}: {name} is {value!r}")
    return number


def _price(value: object, where: str, name: str) -> Decimal | None:
    """A price; zero counts as "no trade" (None), a negative price is an error."""
    number = _decimal(value, where, name)
    if number is None or number > 0:
        return number
    if number == 0:
        return None
    raise ProviderDataError(f"{where}: {name} is negative ({number})")


def _lots_to_shares(lots: Decimal, where: str) -> int:
    if lots != lots.to_integral_value():
        raise ProviderDataError(f"{where}: volume {lots} is not a whole number of lots")
    return int(lots) * SHARES_PER_LOT


def _yyyymmdd(value: object, where: str) -> dt.date | None:
    if value is None or value in PLACEHOLDERS or value == 0:
        return None
    try:
        return dt.datetime.strptime(str(value), "%Y%m%d").date()
    except ValueError:
        raise ProviderDataError(f"{where}: data date (f297) {value!r} is not YYYYMMDD") from None


def _unix_time(value: object, where: str) -> dt.datetime | None:
    if value is None or value in PLACEHOLDERS or value == 0:
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        raise ProviderDataError(
            f"{where}: update time (f124) {value!r} is not a timestamp"
        ) from None


# --- fetching (I/O) ---------------------------------------------------------------------------


# Enough passes to catch funds that moved between pages, few enough to stay polite.
LIST_PASSES = 5


class _ListPaging:
    """The state of paging through the list: what was seen, at which page size."""

    def __init__(self, client: EastmoneyClient, on_page):
        self.client = client
        self.on_page = on_page
        self.result = ListFetch()
        self.seen: dict[tuple[str, str], Listing] = {}
        self.problems: dict[tuple[str, str], RowProblem] = {}
        self.page_size = LIST_PAGE_SIZE
        self.requests = 0
        self.passes = 0
        self.ignores_paging = False

    @property
    def done(self) -> bool:
        result = self.result
        return (
            result.error is not None or self.ignores_paging or self.covered >= result.reported_total
        )

    @property
    def covered(self) -> int:
        return len(self.seen) + sum(problem.fatal for problem in self.problems.values())

    def one_pass(self) -> None:
        self.passes += 1
        page_number = 1
        while True:
            payload = None
            try:
                payload = self.client.fetch_list_page(page_number, self.page_size)
                page = parse_list_page(payload)
            except ProviderError as exc:
                self.result.error = with_answer(exc, payload)
                return
            self.requests += 1
            if page_number == 1:
                self.result.reported_total = page.total
                if 0 < page.raw_rows < self.page_size and page.total > page.raw_rows:
                    # The server caps pages below what we asked (the cap changes without
                    # notice): follow its size, or the rows between its cap and ours are lost.
                    self.page_size = page.raw_rows
            new = [item for item in page.listings if (item.code, item.exchange) not in self.seen]
            self.seen.update(((item.code, item.exchange), item) for item in new)
            keyed = {(problem.code, problem.row): problem for problem in page.problems}
            fresh_problems = keyed.keys() - self.problems.keys()
            self.problems.update(keyed)
            if self.on_page:
                self.on_page(self.requests, self.covered, self.result.reported_total)
            if page.raw_rows == 0 or self.covered >= self.result.reported_total:
                return
            if not new and not fresh_problems:
                if self.passes == 1:
                    # On a first pass every page brings new funds unless the source ignores pn
                    # (it repeats a page): stop, and do not ask again.
                    self.ignores_paging = True
                    return
                if page.raw_rows < self.page_size:
                    return  # a short page with nothing new: the end of this pass
            if page_number * self.page_size >= page.total + self.page_size:
                return  # past the end the source reports
            page_number += 1

    def finish(self) -> ListFetch:
        self.result.pages = self.requests
        self.result.listings = list(self.seen.values())
        self.result.problems = list(self.problems.values())
        return self.result


class EastmoneyClient(FundListSource, DailyBarSource, ListPassBarSource, TradingDaySource):
    """Eastmoney as a provider: the primary fund list, k-lines, and the day's bars in one pass."""

    name = "eastmoney"
    exchanges = (XSHG, XSHE)
    rows_per_request = LIST_PAGE_SIZE
    REFERER = "https://quote.eastmoney.com/"

    def __init__(self, http: HttpClient, push2_url: str, push2his_url: str):
        self.http = http
        self.push2_url = push2_url.rstrip("/")
        self.push2his_url = push2his_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Any, http: HttpConfig) -> EastmoneyClient:
        return cls(
            HttpClient(dataclasses.replace(http, referer=cls.REFERER)),
            push2_url=settings.ETFSYNC_EASTMONEY_PUSH2_URL,
            push2his_url=settings.ETFSYNC_EASTMONEY_PUSH2HIS_URL,
        )

    def fund_list(self, on_page: ListProgress | None = None) -> ListFetch:
        return self.fetch_etf_list(on_page)

    def day_bars(self, day: dt.date, on_page: ListProgress | None = None) -> DayBars:
        """After the close the list's quote is the day's final bar of every fund that traded."""
        fetched = self.fetch_etf_list(on_page=on_page)
        result = DayBars(day=day, error=fetched.error, complete=fetched.complete)
        dates = [listing.data_date for listing in fetched.listings if listing.data_date]
        result.newest_trade_date = max(dates, default=None)
        for listing in fetched.listings:
            bar = bar_from_listing(listing, day)
            if bar is not None:
                result.bars[listing.code, listing.exchange] = bar
                if listing.previous_close is not None:
                    result.previous_closes[listing.code, listing.exchange] = listing.previous_close
        return result

    def fetch_list_page(self, page: int, page_size: int = LIST_PAGE_SIZE) -> object:
        params = {
            "pn": page,
            "pz": page_size,
            "po": 1,
            "np": 1,
            "fltt": 2,
            "invt": 2,
            # Sorting by code keeps rows from moving between pages while we page.
            "fid": "f12",
            "fs": ETF_BOARDS,
            "ut": LIST_TOKEN,
            "fields": LIST_FIELDS,
        }
        return self.http.get_json(self.push2_url + LIST_PATH, params)

    def fetch_etf_list(self, on_page: ListProgress | None = None) -> ListFetch:
        """Page through the ETF boards until the reported total is covered.

        Rows that moved between pages (a source that ignores the sort order) are caught by
        another pass, at most LIST_PASSES in all. A failure midway is kept on the result with
        what was fetched before it, so that the caller can store the good part and say what
        failed.
        """
        listing = _ListPaging(self, on_page)
        for _ in range(LIST_PASSES):
            listing.one_pass()
            if listing.done:
                break
        return listing.finish()

    def fetch_klines(self, code: str, exchange: str, start: dt.date, end: dt.date) -> object:
        params = {
            # The secid's market comes from the stored exchange, never from the code prefix.
            "secid": f"{EXCHANGE_TO_MARKET[exchange]}.{code}",
            "klt": 101,
            "fqt": 0,
            "beg": start.strftime("%Y%m%d"),
            "end": end.strftime("%Y%m%d"),
            "fields1": "f1,f2,f3,f4,f5,f6",
            "fields2": KLINE_FIELDS,
            "ut": KLINE_TOKEN,
        }
        return self.http.get_json(self.push2his_url + KLINE_PATH, params)

    def check_access(self, today: dt.date) -> None:
        """Ask what the source answers any client it does not refuse: the SSE Composite's
        k-lines of the last days (secid 1.000001, shared/providers.md section 5).

        One fund's HTML or empty answer is ambiguous (a ban, or that fund's own broken page);
        ProviderBlocked from this request too says it is a ban.
        """
        self.fetch_klines("000001", XSHG, today - dt.timedelta(days=10), today)

    def trading_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """The SSE Composite index's bar dates in [start, end] (unadjusted, ``fqt=0``)."""
        payload = self.fetch_klines(CALENDAR_INDEX_CODE, XSHG, start, end)
        try:
            return parse_index_days(payload)
        except ProviderDataError as exc:
            with_answer(exc, payload)
            raise

    def daily_bars(
        self, code: str, exchange: str, start: dt.date, end: dt.date, today: dt.date
    ) -> KlineSeries:
        payload = self.fetch_klines(code, exchange, start, end)
        try:
            return parse_kline_response(payload, code=code, exchange=exchange, today=today)
        except ProviderDataError as exc:
            with_answer(exc, payload)
            raise


def settled(listing: Listing, day: dt.date) -> bool:
    """The row was last updated on ``day`` after the close, so its values are final.

    Shanghai rows keep changing until about 16:11 (shared/providers.md section 5).
    """
    if listing.data_date != day or listing.updated_at is None:
        return False
    updated = listing.updated_at.astimezone(SHANGHAI)
    return updated.date() == day and updated.time() >= MARKET_CLOSE


def bar_from_listing(listing: Listing, day: dt.date) -> Bar | None:
    """The day's bar from a list row, or None when the row has no full, settled one."""
    values = (listing.open, listing.high, listing.low, listing.close, listing.amount)
    if not settled(listing, day) or any(value is None for value in values) or not listing.volume:
        return None
    bar = Bar(
        day, listing.open, listing.high, listing.low, listing.close, listing.volume, listing.amount
    )
    # A bar that fails a check is left to the k-line endpoint instead (nothing is recorded).
    kept, problems = checked_bars([bar], listing.code, "list", day)
    return bar if kept and not problems else None


def with_answer(error: ProviderError, payload: object) -> ProviderError:
    """Give a parse error the (decoded) answer it is about, so that the run can keep it."""
    if isinstance(error, ProviderDataError) and error.body is None and payload is not None:
        text = json.dumps(payload, ensure_ascii=False, default=_json_number)
        error.body = text[:BODY_EXCERPT]
    return error


def _json_number(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else str(value)
