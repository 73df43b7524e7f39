"""The data: securities, their daily bars and events, the record of every sync run, and API
tokens; one module per area, every name importable from ``etfs.models``."""

from .bars import (
    BarRevision,
    CalendarRevision,
    DailyBar,
    TradingDay,
    TradingDayQuerySet,
)
from .events import (
    SHARE_KINDS,
    AdjustmentFactor,
    CorporateAction,
    CorporateActionKind,
    Suspension,
)
from .runs import (
    ACTIVE_STATUSES,
    COUNTERS,
    FINAL_STATUSES,
    SourceCooldown,
    SyncKind,
    SyncRun,
    SyncRunError,
    SyncRunQuerySet,
    SyncStatus,
    SyncTrigger,
)
from .securities import (
    Board,
    Exchange,
    ListingStatus,
    SecurityName,
    StockInfo,
    StockInfoQuerySet,
    six_digit_code,
)
from .tokens import (
    ApiToken,
    ApiTokenQuerySet,
)

__all__ = [
    "ACTIVE_STATUSES",
    "AdjustmentFactor",
    "ApiToken",
    "ApiTokenQuerySet",
    "BarRevision",
    "Board",
    "COUNTERS",
    "CalendarRevision",
    "CorporateAction",
    "CorporateActionKind",
    "DailyBar",
    "Exchange",
    "FINAL_STATUSES",
    "ListingStatus",
    "SHARE_KINDS",
    "SecurityName",
    "SourceCooldown",
    "StockInfo",
    "StockInfoQuerySet",
    "Suspension",
    "SyncKind",
    "SyncRun",
    "SyncRunError",
    "SyncRunQuerySet",
    "SyncStatus",
    "SyncTrigger",
    "TradingDay",
    "TradingDayQuerySet",
    "six_digit_code",
]
