"""Plain records, error types and the provider protocol shared by every data source.

Nothing here imports Django models: providers hand plain records to the sync services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

XSHG = "XSHG"
XSHE = "XSHE"
EXCHANGES = (XSHG, XSHE)


class ProviderError(Exception):
    """Base class of everything a provider raises."""


class ProviderUnavailable(ProviderError):
    """The source could not be reached or refused to answer (timeouts, 5xx, 429, bans).

    Retryable later; the HTTP layer has already retried with backoff.
    """


class ProviderDataError(ProviderError):
    """The source answered, but not with what we asked for (the message says what and where)."""

    def __init__(self, message: str, *, body: str | bytes | None = None):
        super().__init__(message)
        self.body = body


@dataclass(frozen=True, slots=True)
class Listing:
    """One fund as the exchange list reports it, with the day's quote when there is one."""

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
    bars: list[Bar]
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
