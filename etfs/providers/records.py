"""The records and errors of the provider contract: what a source hands to the services.

Plain frozen dataclasses and exception types; nothing here imports Django. ``base`` is the
contract's one import for services and sources alike.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

XSHG = "XSHG"
XSHE = "XSHE"
EXCHANGES = (XSHG, XSHE)

# --- errors -----------------------------------------------------------------------------------


class PagingStopped(Exception):  # noqa: N818 (a request to stop, not an error)
    """Raised by a page callback to end the paging early (the run that asked is stopping).

    A source that keeps what it paged sets ``fetched`` to the pages read so far (its result
    marked ``stopped``) before letting it go on, so that the caller can still store them.
    """

    fetched = None


class ProviderError(Exception):
    """Base class of everything a provider raises."""


class ProviderUnavailable(ProviderError):
    """The source could not be reached or refused to answer (timeouts, 5xx, 429, bans).

    Retryable later; the HTTP layer has already retried with backoff.
    """


class ProviderBlocked(ProviderUnavailable):
    """The source refuses us (403, an access-denied or captcha page, empty answers): a ban."""

    def __init__(self, message: str, *, body: str | bytes | None = None):
        super().__init__(message)
        self.body = body  # what the refusal said (a captcha page), kept on the run


class ProviderDataError(ProviderError):
    """The source answered, but not with what we asked for (the message says what and where)."""

    def __init__(self, message: str, *, body: str | bytes | None = None):
        super().__init__(message)
        self.body = body


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listing:
    """One fund as a list reports it, with the day's quote when there is one."""

    code: str
    exchange: str
    name: str
    # The day's values; None where the source shows a placeholder ("-": no trade yet).
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    close: Decimal | None = None
    previous_close: Decimal | None = None
    volume: int | None = None  # shares
    amount: Decimal | None = None  # yuan
    data_date: dt.date | None = None
    updated_at: dt.datetime | None = None
    list_date: dt.date | None = None  # a stock list's listing date (Eastmoney's f26)


@dataclass(frozen=True, slots=True)
class FundProfile:
    """What an exchange publishes about one of its funds beyond the quote."""

    code: str
    exchange: str
    name: str
    list_date: dt.date | None = None
    category: str = ""  # in words a user reads ("ETF, cross-border"), not the source's codes
    tracking_index_code: str = ""
    tracking_index_name: str = ""
    fund_manager: str = ""  # the management company


@dataclass(frozen=True, slots=True)
class Bar:
    """One unadjusted daily bar: prices in yuan, volume in shares, amount in yuan."""

    trade_date: dt.date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    amount: Decimal


def source_row(row: object, limit: int = 300) -> str:
    """A row for a problem's "offending answer", as the source sent it: a decoded JSON object
    as JSON again (not a Python repr), a line of text as it is."""
    if isinstance(row, str):
        return row[:limit]
    try:
        return json.dumps(row, ensure_ascii=False, default=str)[:limit]
    except ValueError:  # an integer of thousands of digits has no text in Python 3.11
        return f"(a {type(row).__name__} holding a number too long to show)"


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row of an otherwise good answer that was rejected or looks wrong."""

    message: str
    code: str = ""
    row: str = ""
    fatal: bool = True  # False: a warning, the row was kept
    kind: str = ""  # what kind of warning, in words a run's summary counts ("suspicious units")


@dataclass(frozen=True, slots=True)
class ListPage:
    total: int
    listings: list[Listing]
    problems: list[RowProblem] = field(default_factory=list)
    raw_rows: int = 0


@dataclass(frozen=True, slots=True)
class KlineSeries:
    code: str
    exchange: str | None
    bars: Sequence[Bar]  # BarRows from the parsers
    problems: list[RowProblem] = field(default_factory=list)


# Kinds of corporate action a fund list reports (CorporateAction.kind).
CASH = "cash"  # a cash distribution: `cash` yuan per unit, ratio 1
SPLIT = "split"  # 份额分拆: more units, ratio > 1
CONVERSION = "conversion"  # 份额折算/合并: units converted or merged, any ratio
# A stock's events (shared/providers.md section 8): ratio = 1 + new shares per share held.
BONUS = "bonus"  # 送股: bonus shares
CAPITALISATION = "capitalisation"  # 转增: shares from the capital reserve
RIGHTS = "rights"  # 配股: a rights issue, with its price
CORPORATE_ACTION_KINDS = (CASH, SPLIT, CONVERSION, BONUS, CAPITALISATION, RIGHTS)


@dataclass(frozen=True, slots=True)
class CorporateAction:
    """One fund event as a source lists it: cash per unit, or units after per unit before.

    ``cash`` is yuan per unit (0 for splits and conversions); ``ratio`` is 1 for cash.
    """

    code: str
    ex_date: dt.date
    kind: str
    cash: Decimal = Decimal(0)
    ratio: Decimal = Decimal(1)
    name: str = ""
    record_date: dt.date | None = None
    pay_date: dt.date | None = None
    row: str = ""  # the source's row as text, kept with the stored event
    rights_price: Decimal = Decimal(0)  # yuan per share, for a rights issue
    exchange: str = ""  # where the source says (stock lists do; fund lists do not)


@dataclass(frozen=True, slots=True)
class Suspension:
    """A period a security does not trade, as one day's suspension snapshot lists it.

    ``end`` is the last suspended day, None while open-ended.
    """

    code: str
    start: dt.date
    end: dt.date | None = None
    reason: str = ""
    name: str = ""
    exchange: str = ""  # "" when the source does not say
    expected_resume: dt.date | None = None
    row: str = ""


@dataclass
class SuspensionFetch:
    """Every suspension one day's snapshot listed; ``error`` as in ListFetch."""

    day: dt.date
    suspensions: list[Suspension] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    pages: int = 0
    error: ProviderError | None = None


@dataclass
class ListFetch:
    """Every fund a list reported, and why paging stopped early if it did.

    A failure midway is kept in ``error`` with what was fetched before it, so that the caller
    can store the good part and say what failed.
    """

    listings: list[Listing] = field(default_factory=list)
    reported_total: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    pages: int = 0
    error: ProviderError | None = None
    # The caller stopped the paging (PagingStopped): the pages read so far, never the whole.
    stopped: bool = False

    @property
    def complete(self) -> bool:
        if self.stopped:
            return False
        return self.error is None and len(self.listings) + self.bad_rows >= self.reported_total

    @property
    def bad_rows(self) -> int:
        return sum(1 for problem in self.problems if problem.fatal)


@dataclass
class ProfileFetch:
    """An exchange's fund list with the profile of each fund; ``error`` as in ListFetch."""

    exchange: str
    profiles: list[FundProfile] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    pages: int = 0
    error: ProviderError | None = None


@dataclass
class DayBars:
    """The day's final bars of every fund one list pass could give, keyed by (code, exchange).

    ``settled_dates`` counts the settled rows (updated after the close of their own trade date)
    by trade date, and ``complete`` says the pass covered the whole list: together they tell
    whether the market traded on a day the calendar does not know yet. One row never decides
    (etfs/sync/market_day.py asks for a clear majority).
    """

    day: dt.date
    bars: dict[tuple[str, str], Bar] = field(default_factory=dict)
    error: ProviderError | None = None
    # The previous close the source quotes (Eastmoney's f18: the exchange's reference price,
    # which differs from the stored close on an ex-date), where it gives one.
    previous_closes: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    settled_dates: dict[dt.date, int] = field(default_factory=dict)
    complete: bool = False


@dataclass
class ActionFetch:
    """Every event one corporate-action list gave for one year; ``error`` as in ListFetch."""

    actions: list[CorporateAction] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    pages: int = 0
    total_pages: int = 0
    error: ProviderError | None = None
    plans: int = 0  # rows announcing an event without an ex-date: not applied
