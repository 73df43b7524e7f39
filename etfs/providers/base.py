"""The provider contract: plain records, error types, generic bar checks, and one small base
class per capability that a source implements.

Nothing here imports Django: providers hand plain records to the sync services, and the
services know a source only through these classes (a source is one module implementing some
of them; ``etfs.sync.sources`` builds the configured ones from settings).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from etfs.codes import CODE_PATTERN, CODE_RULE, is_security_code  # noqa: F401 (the contract's)

if TYPE_CHECKING:
    from .http import HttpConfig

XSHG = "XSHG"
XSHE = "XSHE"
EXCHANGES = (XSHG, XSHE)

# --- errors -----------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row of an otherwise good answer that was rejected or looks wrong."""

    message: str
    code: str = ""
    row: str = ""
    fatal: bool = True  # False: a warning, the row was kept


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
CORPORATE_ACTION_KINDS = (CASH, SPLIT, CONVERSION)


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

    @property
    def complete(self) -> bool:
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

    ``newest_trade_date`` is the newest trade date any row carried, and ``complete`` says the
    pass covered the whole list: together they tell whether the market traded on a day the
    calendar does not know yet (rows of the previous trading day only: it did not).
    """

    day: dt.date
    bars: dict[tuple[str, str], Bar] = field(default_factory=dict)
    error: ProviderError | None = None
    # The previous close the source quotes (Eastmoney's f18: the exchange's reference price,
    # which differs from the stored close on an ex-date), where it gives one.
    previous_closes: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    newest_trade_date: dt.date | None = None
    complete: bool = False


# --- generic bar checks -----------------------------------------------------------------------

# amount / volume must lie within [low, high] widened by this share (rounding of prices and
# amounts); outside it the units are suspect (lots vs shares, yuan vs thousands).
UNIT_TOLERANCE = Decimal("0.03")
# Far above any real fund's values, and within what the DailyBar columns can hold.
MAX_PRICE = Decimal("1000000")
MAX_AMOUNT = Decimal("1e18")
MAX_VOLUME = 10**17


def bar_sanity_problem(bar: Bar, today: dt.date | None) -> str:
    """Why a bar cannot be true, or "" when it passes."""
    if today is not None and bar.trade_date > today:
        return f"date is in the future (today is {today})"
    if min(bar.open, bar.high, bar.low, bar.close) <= 0:
        return "a price is zero or negative"
    if bar.high >= MAX_PRICE or bar.amount >= MAX_AMOUNT or bar.volume >= MAX_VOLUME:
        return "a value is implausibly large (garbage in the answer?)"
    if bar.high < max(bar.open, bar.close):
        return f"high {bar.high} is below open/close {max(bar.open, bar.close)}"
    if bar.low > min(bar.open, bar.close):
        return f"low {bar.low} is above open/close {min(bar.open, bar.close)}"
    if bar.volume < 0 or bar.amount < 0:
        return "negative volume or amount"
    return ""


def unit_warnings(bars: list[Bar], code: str, where: str) -> list[RowProblem]:
    """Flag bars whose average price (amount / volume) lies outside the day's range."""
    warnings = []
    for bar in bars:
        if bar.volume <= 0 or bar.amount <= 0:
            continue
        average = bar.amount / bar.volume
        low, high = bar.low * (1 - UNIT_TOLERANCE), bar.high * (1 + UNIT_TOLERANCE)
        if not low <= average <= high:
            warnings.append(
                RowProblem(
                    f"{where} {bar.trade_date}: suspicious units: amount/volume = "
                    f"{average:.4f} yuan per share lies outside [{bar.low}, {bar.high}]",
                    code=code,
                    fatal=False,
                )
            )
    return warnings


def drop_duplicate_dates(
    bars: list[Bar], code: str, where: str
) -> tuple[list[Bar], list[RowProblem]]:
    """A date twice in one answer: neither copy can be trusted, both are left out."""
    counts = Counter(bar.trade_date for bar in bars)
    duplicated = {day for day, count in counts.items() if count > 1}
    if not duplicated:
        return bars, []
    problems = [
        RowProblem(f"{where} {day}: date appears {counts[day]} times in one answer", code=code)
        for day in sorted(duplicated)
    ]
    return [bar for bar in bars if bar.trade_date not in duplicated], problems


def checked_bars(
    bars: list[Bar], code: str, where: str, today: dt.date | None
) -> tuple[list[Bar], list[RowProblem]]:
    """The bars that pass every generic check, and a problem for each one that did not."""
    kept, problems = [], []
    for bar in bars:
        reason = bar_sanity_problem(bar, today)
        if reason:
            problems.append(RowProblem(f"{where} {bar.trade_date}: {reason}", code, repr(bar)))
        else:
            kept.append(bar)
    kept, duplicates = drop_duplicate_dates(kept, code, where)
    return kept, problems + duplicates + unit_warnings(kept, code, where)


# --- bars as checked text ------------------------------------------------------------------

# Bar fields in DailyBar's column order, as text (volume in shares): what BarRows keeps.
BAR_TEXT_FIELDS = ("trade_date", "open", "high", "low", "close", "volume", "amount")


class BarRows(Sequence[Bar]):
    """Checked bars kept as exact decimal text, one tab-separated line each, in ``BAR_TEXT_FIELDS``
    order; a ``Bar`` is made only when one is read.

    Parsing every number of a full history into ``Decimal`` and formatting it back for the
    database was most of a price sync's CPU (bench/profile_sync.py): the database parses the
    text itself (``copy_text`` feeds COPY as it is), so decimals stay exact without Python
    touching them.
    """

    __slots__ = ("lines", "first", "last")

    def __init__(self, lines: list[str], first: str = "", last: str = ""):
        self.lines = lines
        # The earliest and latest trade date (ISO text), given by a parser that saw them.
        if lines and not (first and last):
            days = [line[:10] for line in lines]
            first, last = min(days), max(days)
        self.first, self.last = first, last

    @classmethod
    def from_bars(cls, bars: Iterable[Bar]) -> BarRows:
        return cls(["\t".join(str(getattr(bar, name)) for name in BAR_TEXT_FIELDS) for bar in bars])

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return BarRows(self.lines[index])
        return _bar_from_text(self.lines[index])

    def __iter__(self) -> Iterator[Bar]:
        return map(_bar_from_text, self.lines)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"<BarRows {len(self.lines)} bars {self.first}..{self.last}>"

    def until(self, day: dt.date) -> BarRows:
        """The bars up to ``day``: ISO dates compare as text."""
        if not self.lines or self.last <= day.isoformat():
            return self
        limit = day.isoformat()
        return BarRows([line for line in self.lines if line[:10] <= limit])

    def copy_text(self, security_id: int) -> str:
        """COPY's text format for (security_id, *BAR_TEXT_FIELDS) rows."""
        if not self.lines:
            return ""
        prefix = f"{security_id}\t"
        return prefix + ("\n" + prefix).join(self.lines) + "\n"


def _bar_from_text(line: str) -> Bar:
    day, open_, high, low, close, volume, amount = line.split("\t")
    return Bar(
        dt.date.fromisoformat(day),
        Decimal(open_),
        Decimal(high),
        Decimal(low),
        Decimal(close),
        int(volume),
        Decimal(amount),
    )


# A float screen of bar_sanity_problem and unit_warnings for the common case. Floats order
# decimals of up to 15 significant digits exactly like the decimals themselves; a parser that
# hands over prices of at most 11 digits and asks the exact checks about anything this screen
# does not pass gets the same answers, at a fraction of the cost.
_LOW_LIMIT = float(1 - UNIT_TOLERANCE) * (1 + 1e-9)
_HIGH_LIMIT = float(1 + UNIT_TOLERANCE) * (1 - 1e-9)
_MAX_PRICE = float(MAX_PRICE)
_MAX_AMOUNT = float(MAX_AMOUNT)


def surely_passes_bar_checks(
    open_: float, high: float, low: float, close: float, volume: int, amount: float
) -> bool:
    """True only when the exact checks surely pass (no problem, no unit warning); False means
    "ask them", not "bad"."""
    if not (0 < low <= open_ <= high and low <= close <= high and high < _MAX_PRICE):
        return False
    if not (0 <= amount < _MAX_AMOUNT and 0 <= volume < MAX_VOLUME):
        return False
    if volume and amount:
        average = amount / volume
        return low * _LOW_LIMIT < average < high * _HIGH_LIMIT
    return True


# --- the contract -----------------------------------------------------------------------------

ListProgress = Callable[[int, int, int], None]  # (requests made, rows seen, rows reported)


class Provider:
    """A data source, in the style of Django's ``SessionBase``: a source subclasses this and
    the capability classes below that it can serve, and implements their methods.

    ``name`` is what runs (``SyncRun.provider``) and ban cooldowns know the source by.
    """

    name: str = ""

    @classmethod
    def from_settings(cls, settings: Any, http: HttpConfig) -> Provider:
        """Build the source from Django settings (passed in: providers do not import Django)
        and the shared HTTP configuration (timeouts, retries, rate limit, User-Agent)."""
        raise NotImplementedError(f"{cls.__name__} must provide a from_settings() classmethod")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class FundListSource(Provider):
    """Lists every fund of the given exchanges: the primary list, which decides what is listed."""

    exchanges: tuple[str, ...] = EXCHANGES

    def fund_list(self, on_page: ListProgress | None = None) -> ListFetch:
        raise NotImplementedError(f"{type(self).__name__} must provide a fund_list() method")


class DailyBarSource(Provider):
    """The unadjusted daily bars of one security over a date range."""

    def daily_bars(
        self, code: str, exchange: str, start: dt.date, end: dt.date, today: dt.date
    ) -> KlineSeries:
        raise NotImplementedError(f"{type(self).__name__} must provide a daily_bars() method")

    def check_access(self, today: dt.date) -> None:
        """Ask a request the source answers any client it does not refuse; raise
        ProviderBlocked if it is refused too. One fund's HTML page or empty answer is
        ambiguous (a ban, or that fund's own broken answer): this tells the two apart.
        A source without such a request leaves this out, and every refusal counts as a ban."""
        raise NotImplementedError(f"{type(self).__name__} has no check_access() probe")


class ListPassBarSource(Provider):
    """The day's final bar of every fund from one pass over a list (after the close)."""

    rows_per_request: int = 100  # for a plan's estimate of the requests one pass takes

    def day_bars(self, day: dt.date, on_page: ListProgress | None = None) -> DayBars:
        raise NotImplementedError(f"{type(self).__name__} must provide a day_bars() method")


class TradingDaySource(Provider):
    """The days the SSE/SZSE market traded in a date range, read from the market itself.

    Raises ProviderDataError for an answer without any day: a caller asks for a range that
    holds known trading days, so an empty answer is a fault, never "no trading".
    """

    def trading_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        raise NotImplementedError(f"{type(self).__name__} must provide a trading_days() method")


class FundProfileSource(Provider):
    """One exchange's own fund list with the profile of each fund (listing date, category,
    tracking index, manager). It checks the primary list and fills what that one lacks."""

    exchange: str = ""

    def fund_profiles(self, on_page: ListProgress | None = None) -> ProfileFetch:
        raise NotImplementedError(f"{type(self).__name__} must provide a fund_profiles() method")


@dataclass
class ActionFetch:
    """Every event one corporate-action list gave for one year; ``error`` as in ListFetch."""

    actions: list[CorporateAction] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    pages: int = 0
    total_pages: int = 0
    error: ProviderError | None = None


class CorporateActionSource(Provider):
    """The market's fund events (cash dividends, splits, conversions), one list and year at a
    time, and the source's own backward-adjusted closes to check our factors against."""

    # (list id, what it is called) for each list the source has, and the first year they cover.
    lists: tuple[tuple[int, str], ...] = ()
    first_year: int = 1999
    # The source whose cooldown governs the adjusted k-line requests.
    kline_source_name: str = ""

    def corporate_actions(
        self, list_kind: int, year: int, on_page: Callable[[int, int], None] | None = None
    ) -> ActionFetch:
        raise NotImplementedError(f"{type(self).__name__} must provide corporate_actions()")

    def backward_adjusted_closes(
        self, code: str, exchange: str, start: dt.date, end: dt.date
    ) -> dict[dt.date, Decimal]:
        raise NotImplementedError(f"{type(self).__name__} must provide backward_adjusted_closes()")
