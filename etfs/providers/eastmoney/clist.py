"""Eastmoney push2 ``clist``: the ETF boards with the day's quote, paged, and its parsers.

After the close one pass over this list gives the day's final bar of every fund that traded.
Wire format: shared/providers.md sections 1 and 3. ``parse_*`` functions are pure and raise
``ProviderDataError`` naming what was wrong; ``ListPaging`` pages through the list.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from ..base import (
    Bar,
    DayBars,
    ListFetch,
    Listing,
    ListPage,
    ListProgress,
    ProviderDataError,
    ProviderError,
    RowProblem,
    checked_bars,
    is_security_code,
)
from ..records import PagingStopped, source_row
from .wire import (
    MARKET_TO_EXCHANGE,
    PLACEHOLDERS,
    decimal_cell,
    envelope_data,
    lots_to_shares,
    price_cell,
    shown,
    with_answer,
)

LIST_PATH = "/api/qt/clist/get"
# The server caps a page at 100 rows whatever pz asks for (providers.md section 3).
LIST_PAGE_SIZE = 100
# MK0827 holds bond, gold and commodity ETFs that older clients miss.
ETF_BOARDS = "b:MK0021,b:MK0022,b:MK0023,b:MK0024,b:MK0827"
LIST_FIELDS = "f12,f13,f14,f2,f5,f6,f15,f16,f17,f18,f124,f297"
LIST_TOKEN = "bd1d9ddb04089700cf9c27f6f7426281"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MARKET_CLOSE = dt.time(15, 0)
# Enough passes to catch funds that moved between pages, few enough to stay polite.
LIST_PASSES = 5


def list_params(
    page: int,
    page_size: int = LIST_PAGE_SIZE,
    boards: str = ETF_BOARDS,
    fields: str = LIST_FIELDS,
) -> dict[str, object]:
    """The query of one page of the ETF boards, or of other ``boards`` (sent to LIST_PATH)."""
    return {
        "pn": page,
        "pz": page_size,
        "po": 1,
        "np": 1,
        "fltt": 2,
        "invt": 2,
        # Sorting by code keeps rows from moving between pages while we page.
        "fid": "f12",
        "fs": boards,
        "ut": LIST_TOKEN,
        "fields": fields,
    }


# --- parsing (pure) --------------------------------------------------------------------------


def parse_list_page(payload: object) -> ListPage:
    """Parse one page of ``/api/qt/clist/get`` (sent with ``fltt=2`` and ``np=1``)."""
    data = envelope_data(payload, "ETF list")
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
            listing, warning = parse_listing(row)
        except ProviderDataError as exc:
            code = row.get("f12", "") if isinstance(row, dict) else ""
            code = code if isinstance(code, str) else ""
            problems.append(RowProblem(str(exc), code=code[:20], row=source_row(row)))
            continue
        if (listing.code, listing.exchange) in seen:
            problems.append(
                RowProblem(
                    f"ETF list row {listing.code}: listed twice in one answer; the first row "
                    "was kept",
                    code=listing.code,
                    row=source_row(row),
                )
            )
            continue
        seen.add((listing.code, listing.exchange))
        listings.append(listing)
        if warning:
            problems.append(
                RowProblem(warning, code=listing.code, row=source_row(row), fatal=False)
            )
    return ListPage(total=total, listings=listings, problems=problems, raw_rows=len(rows))


def parse_listing(row: object) -> tuple[Listing, str]:
    """A list row: the fund, and what was wrong with its optional fields ("" when nothing).

    The code, the market id and the name make the fund: a bad one rejects the row
    (ProviderDataError). Everything else is optional, since a job that lists funds needs none
    of it and a job that takes the day's bars falls back to the k-lines for a fund without a
    quote: a bad value in any quote field leaves the whole quote out (never half of it), a bad
    listing date leaves the date out, and the second item says why.
    """
    if not isinstance(row, dict):
        raise ProviderDataError(f"ETF list row is {type(row).__name__}, expected an object")
    code = row.get("f12")
    if type(code) is int and 0 <= code < 10**6:
        code = f"{code:06d}"
    if not is_security_code(code):
        raise ProviderDataError(f"ETF list row: code (f12) {shown(code)} is not six ASCII digits")
    market = row.get("f13")
    exchange = MARKET_TO_EXCHANGE.get(market) if type(market) is int else None
    if exchange is None:
        raise ProviderDataError(f"ETF list row {code}: unknown market id (f13) {shown(market)}")
    name = row.get("f14")
    if not isinstance(name, str) or name.strip() in PLACEHOLDERS:
        raise ProviderDataError(f"ETF list row {code}: name (f14) missing")
    where = f"ETF list row {code}"
    warnings = []
    try:
        quote = _quote(row, where)
    except ProviderDataError as exc:
        quote = {}
        warnings.append(f"{exc}; the row's quote is left out")
    try:
        list_date = _yyyymmdd(row.get("f26"), where, "listing date (f26)")
    except ProviderDataError as exc:
        list_date = None
        warnings.append(f"{exc}; left out")
    listing = Listing(code=code, exchange=exchange, name=name.strip(), list_date=list_date, **quote)
    return listing, "; ".join(warnings)


def _quote(row: dict, where: str) -> dict[str, object]:
    """The day's values of a row, or ProviderDataError naming the first bad one."""
    lots = decimal_cell(row.get("f5"), where, "volume (f5)")
    return {
        "open": price_cell(row.get("f17"), where, "open (f17)"),
        "high": price_cell(row.get("f15"), where, "high (f15)"),
        "low": price_cell(row.get("f16"), where, "low (f16)"),
        "close": price_cell(row.get("f2"), where, "last price (f2)"),
        "previous_close": price_cell(row.get("f18"), where, "previous close (f18)"),
        "volume": None if lots is None else lots_to_shares(lots, where),
        "amount": decimal_cell(row.get("f6"), where, "amount (f6)"),
        "data_date": _yyyymmdd(row.get("f297"), where),
        "updated_at": _unix_time(row.get("f124"), where),
    }


def _is_placeholder(value: object) -> bool:
    """None, 0 or one of the source's placeholder strings ("-"); any JSON value may come."""
    if isinstance(value, str):
        return value.strip() in PLACEHOLDERS
    return value is None or (type(value) is int and value == 0)


def _yyyymmdd(value: object, where: str, name: str = "data date (f297)") -> dt.date | None:
    if _is_placeholder(value):
        return None
    small = type(value) is int and 0 < value < 10**8
    text = value if isinstance(value, str) else str(value) if small else ""
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise ProviderDataError(f"{where}: {name} {shown(value)} is not YYYYMMDD") from None


def _unix_time(value: object, where: str) -> dt.datetime | None:
    if _is_placeholder(value):
        return None
    name = "update time (f124)"
    seconds = decimal_cell(value, where, name)
    try:
        return dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ProviderDataError(f"{where}: {name} {shown(value)} is not a timestamp") from None


def settled(listing: Listing, day: dt.date) -> bool:
    """The row was last updated on ``day`` after the close, so its values are final.

    Shanghai rows keep changing until about 16:11 (shared/providers.md section 5).
    """
    if listing.data_date != day or listing.updated_at is None:
        return False
    updated = listing.updated_at.astimezone(SHANGHAI)
    return updated.date() == day and updated.time() >= MARKET_CLOSE


def settled_trade_dates(listings) -> dict[dt.date, int]:
    """How many rows carry each trade date (f297), counting only rows updated after the close
    of that date: a row still moving, or without an update time, says nothing yet."""
    return dict(
        Counter(listing.data_date for listing in listings if settled(listing, listing.data_date))
    )


def day_bars_from_list(fetched: ListFetch, day: dt.date) -> DayBars:
    """After the close the list's quote is the day's final bar of every security that traded:
    the list pass of the fund and the stock lists alike."""
    result = DayBars(day=day, error=fetched.error, complete=fetched.complete)
    result.settled_dates = settled_trade_dates(fetched.listings)
    for listing in fetched.listings:
        bar = bar_from_listing(listing, day)
        if bar is not None:
            result.bars[listing.code, listing.exchange] = bar
            if listing.previous_close is not None:
                result.previous_closes[listing.code, listing.exchange] = listing.previous_close
    return result


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


# --- paging (I/O through the given fetch) -----------------------------------------------------


class ListPaging:
    """The state of paging through the list: what was seen, at which page size.

    ``fetch_page(page, page_size)`` returns one decoded answer.
    """

    def __init__(self, fetch_page: Callable[[int, int], object], on_page: ListProgress | None):
        self.fetch_page = fetch_page
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
                payload = self.fetch_page(page_number, self.page_size)
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


def fetch_list(fetch_page: Callable[[int, int], object], on_page: ListProgress | None) -> ListFetch:
    """Page through the ETF boards until the reported total is covered.

    Rows that moved between pages (a source that ignores the sort order) are caught by another
    pass, at most LIST_PASSES in all. A failure midway is kept on the result with what was
    fetched before it, so that the caller can store the good part and say what failed; so is
    what was fetched before an ``on_page`` that stops the paging (``PagingStopped.fetched``).
    """
    paging = ListPaging(fetch_page, on_page)
    try:
        for _ in range(LIST_PASSES):
            paging.one_pass()
            if paging.done:
                break
    except PagingStopped as stop:  # the caller stops: it may still store what was paged
        stop.fetched = paging.finish()
        stop.fetched.stopped = True
        raise
    return paging.finish()
