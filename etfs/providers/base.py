"""The provider contract: plain records, error types, generic bar checks, and one small base
class per capability that a source implements.

Nothing here imports Django: providers hand plain records to the sync services, and the
services know a source only through these classes (a source is one module implementing some
of them; ``etfs.sync.sources`` builds the configured ones from settings). The records and
errors live in ``records``, the bar checks in ``bars``; this module is the one import for
both sides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from etfs.codes import CODE_PATTERN, CODE_RULE, is_security_code  # noqa: F401 (the contract's)

from .bars import (  # noqa: F401 (re-exported: the contract's)
    BAR_TEXT_FIELDS,
    MAX_AMOUNT,
    MAX_PRICE,
    MAX_VOLUME,
    UNIT_TOLERANCE,
    BarRows,
    bar_sanity_problem,
    checked_bars,
    drop_duplicate_dates,
    surely_pass_bar_checks,
    unit_warnings,
)
from .records import (  # noqa: F401 (re-exported: the contract's)
    BONUS,
    CAPITALISATION,
    CASH,
    CONVERSION,
    CORPORATE_ACTION_KINDS,
    EXCHANGES,
    RIGHTS,
    SPLIT,
    XSHE,
    XSHG,
    ActionFetch,
    Bar,
    CorporateAction,
    DayBars,
    FundProfile,
    KlineSeries,
    ListFetch,
    Listing,
    ListPage,
    PagingStopped,
    ProfileFetch,
    ProviderBlocked,
    ProviderDataError,
    ProviderError,
    ProviderUnavailable,
    RowProblem,
    Suspension,
    SuspensionFetch,
    source_row,
)

if TYPE_CHECKING:
    from .http import HttpConfig

# --- the contract -----------------------------------------------------------------------------

ListProgress = Callable[[int, int, int], None]  # (requests made, rows seen, rows reported)


class Provider:
    """A data source, in the style of Django's ``SessionBase``: a source subclasses this and
    the capability classes below that it can serve, and implements their methods.

    ``name`` is what runs (``SyncRun.provider``) and ban cooldowns know the source by: the
    class's own name in the short form of the configuration, the key of its entry in
    ``ETFSYNC_SOURCES`` in the long form (``etfs.sync.sources`` sets it).
    """

    name: str = ""
    # What ETFSYNC_SOURCE_ORDER calls the capability (set by each capability class below).
    capability: str = ""

    @classmethod
    def from_options(cls, options: Mapping[str, Any], http: HttpConfig) -> Provider:
        """Build the source from the ``OPTIONS`` of its ``ETFSYNC_SOURCES`` entry and the
        shared HTTP configuration (timeouts, retries, rate limit, User-Agent)."""
        raise NotImplementedError(f"{cls.__name__} must provide a from_options() classmethod")

    @classmethod
    def short_form_options(cls, settings: Any) -> dict[str, Any]:
        """The ``OPTIONS`` the short form of the configuration (the flat ``ETFSYNC_*``
        settings, passed in: providers do not import Django) gives this source."""
        return {}

    @classmethod
    def from_settings(cls, settings: Any, http: HttpConfig) -> Provider:
        """Build the source from the short form of the configuration."""
        return cls.from_options(cls.short_form_options(settings), http)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class ProviderConfigurationError(ValueError):
    """A source's ``OPTIONS`` lack what it needs (reported as ImproperlyConfigured)."""


def required_option(source: type[Provider], options: Mapping[str, Any], key: str) -> Any:
    """One of a source's ``OPTIONS``; a missing one is a configuration error that says which."""
    try:
        return options[key]
    except KeyError:
        raise ProviderConfigurationError(
            f"{source.__name__} needs OPTIONS[{key!r}] in its ETFSYNC_SOURCES entry"
        ) from None


class FundListSource(Provider):
    """Lists every fund of the given exchanges: the primary list, which decides what is listed."""

    capability = "fund_list"

    exchanges: tuple[str, ...] = EXCHANGES

    def fund_list(self, on_page: ListProgress | None = None) -> ListFetch:
        raise NotImplementedError(f"{type(self).__name__} must provide a fund_list() method")


class DailyBarSource(Provider):
    """The unadjusted daily bars of one security over a date range."""

    capability = "daily_bars"

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

    capability = "day_bars"

    rows_per_request: int = 100  # for a plan's estimate of the requests one pass takes

    def day_bars(self, day: dt.date, on_page: ListProgress | None = None) -> DayBars:
        raise NotImplementedError(f"{type(self).__name__} must provide a day_bars() method")


class TradingDaySource(Provider):
    """The days the SSE/SZSE market traded in a date range, read from the market itself.

    Raises ProviderDataError for an answer without any day: a caller asks for a range that
    holds known trading days, so an empty answer is a fault, never "no trading".
    """

    capability = "trading_days"

    def trading_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        raise NotImplementedError(f"{type(self).__name__} must provide a trading_days() method")


class FundProfileSource(Provider):
    """One exchange's own fund list with the profile of each fund (listing date, category,
    tracking index, manager). It checks the primary list and fills what that one lacks."""

    capability = "fund_profiles"

    exchange: str = ""

    def fund_profiles(self, on_page: ListProgress | None = None) -> ProfileFetch:
        raise NotImplementedError(f"{type(self).__name__} must provide a fund_profiles() method")


class EventLists(Provider):
    """What the two corporate-action capabilities share: lists read one year at a time (or,
    where the source can, one security at a time), and the source's own backward-adjusted
    closes to check our factors against."""

    # (list id, what it is called) for each list the source has, and the first year they cover.
    lists: tuple[tuple[int, str], ...] = ()
    first_year: int = 1999
    # The source whose cooldown governs the adjusted k-line requests.
    kline_source_name: str = ""
    # Whose events the lists hold: the funds' (True) or the stocks' (False).
    lists_funds: bool = True
    # Whether one security's events can be asked for alone (``security_actions``).
    by_security: bool = False

    def corporate_actions(
        self, list_kind: int, year: int, on_page: Callable[[int, int], None] | None = None
    ) -> ActionFetch:
        raise NotImplementedError(f"{type(self).__name__} must provide corporate_actions()")

    def security_actions(
        self, list_kind: int, code: str, on_page: Callable[[int, int], None] | None = None
    ) -> ActionFetch:
        raise NotImplementedError(f"{type(self).__name__} lists events by year only")

    def backward_adjusted_closes(
        self, code: str, exchange: str, start: dt.date, end: dt.date
    ) -> dict[dt.date, Decimal]:
        raise NotImplementedError(f"{type(self).__name__} must provide backward_adjusted_closes()")


class CorporateActionSource(EventLists):
    """The market's fund events (cash dividends, splits, conversions)."""

    capability = "corporate_actions"


class StockActionSource(EventLists):
    """The stocks' events: cash dividends, bonus and capitalisation shares, rights issues
    (shared/providers.md section 8)."""

    capability = "stock_corporate_actions"
    lists_funds = False


class SuspensionSource(Provider):
    """The securities suspended on one day, as that day's snapshot lists them (periods that
    started earlier, and ones announced for later days)."""

    capability = "suspensions"
    rows_per_request: int = 500

    def suspensions(
        self, day: dt.date, on_page: Callable[[int, int], None] | None = None
    ) -> SuspensionFetch:
        raise NotImplementedError(f"{type(self).__name__} must provide suspensions()")
