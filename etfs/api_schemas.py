"""What the API accepts and answers, as schemas; /api/openapi.json is generated from them.

Requests are closed and strict (the JSON string ``"2020"`` is no year); a field given as null
counts as left out. Their limits are those of ``etfs.limits``, shared with the commands.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.urls import reverse
from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, Field, create_model, model_validator
from pydantic_core import PydanticCustomError

from . import limits
from .codes import CODE_PATTERN
from .models import COUNTERS, Exchange, StockInfo, SyncKind, SyncRunError, SyncStatus, SyncTrigger
from .sync.calendar import shanghai_now
from .sync.universe import STOCKS

COUNTER_FIELDS = ("items_total", *COUNTERS)
Count = Annotated[int, Field(ge=0)]
ERRORS = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
ERRORS |= {405: "method_not_allowed", 409: "conflict", 413: "too_large"}
# A value of the wrong type, refused in the API's words rather than pydantic's.
WRONG_TYPE = {
    "body": "must be a JSON object",
    "exchange_codes": "must be a list of exchange codes (strings)",
    "codes": "must be a list of ETF codes (strings)",
    "start": "must be a date as a string, YYYY-MM-DD",
    "end": "must be a date as a string, YYYY-MM-DD",
    "start_year": "must be an integer",
    "full": "must be true or false",
}


def checked(kind, check=None, **schema) -> type:
    """``kind`` through ``check`` (a limit); ``schema`` writes the limit into the document."""
    checks = [AfterValidator(check)] if check else []
    return Annotated[kind, *checks, Field(json_schema_extra=schema)]


def refusal(field: str, message: str) -> PydanticCustomError:
    """A refusal naming its field although the whole request was needed to see it."""
    return PydanticCustomError("invalid", "{error}", {"field": field, "error": message})


def today() -> dt.date:
    return shanghai_now().date()


def known_codes(codes: list[str]) -> tuple[str, ...]:
    return limits.check_known_codes(limits.check_codes(codes), StockInfo.objects.etf_codes_among)


def known_stock_codes(codes: list[str]) -> tuple[str, ...]:
    return limits.check_known_codes(limits.check_codes(codes), STOCKS.codes_among)


# XSHG or XSHE in any case (JSON Schema patterns have no case-insensitive flag).
EXCHANGE = "^({})$".format("|".join("".join(f"[{c}{c.lower()}]" for c in x) for x in Exchange))
Exchanges = checked(list[checked(str, pattern=EXCHANGE)], limits.check_exchanges, minItems=1)
CodeList = list[checked(str, pattern=CODE_PATTERN)]
Codes = checked(CodeList, known_codes, minItems=1, maxItems=limits.MAX_CODES)
StockCodes = checked(CodeList, known_stock_codes, minItems=1, maxItems=limits.MAX_CODES)
Day = checked(str, lambda text: limits.parse_day(text, today()), format="date")
Year = checked(int, lambda year: limits.check_start_year(year, today()))


class Request(Schema):
    model_config = {"extra": "forbid", "strict": True}


class ListSyncRequest(Request):
    """Every field is optional; null is the same as leaving a field out."""

    exchange_codes: Exchanges | None = None


class PriceSyncRequest(Request):
    """Every field is optional; null is the same as leaving a field out. At most one of
    start_year, start and full: each says where a fund's history starts."""

    start_year: checked(Year, minimum=limits.EARLIEST_YEAR) | None = None
    start: Day | None = None
    end: Day | None = None
    codes: Codes | None = None
    full: bool | None = None

    @model_validator(mode="after")
    def one_start_and_an_ordered_window(self) -> PriceSyncRequest:
        chosen = [name for name in ("start_year", "start", "full") if getattr(self, name)]
        if len(chosen) > 1:
            raise refusal(chosen[1], f"cannot be combined with {chosen[0]}; give one of them")
        try:
            limits.check_date_range(self.start, self.end)
        except ValueError as exc:
            raise refusal("start", str(exc)) from None
        return self


class StockPriceSyncRequest(PriceSyncRequest):
    """As for ETFs, with stock codes. Every field is optional; null is the same as leaving a
    field out. At most one of start_year, start and full."""

    codes: StockCodes | None = None


class CorporateActionSyncRequest(Request):
    """Every field is optional; null is the same as leaving a field out. Without years, last
    year's and this year's lists are read."""

    years: checked(list[Year], maxItems=40) | None = None
    codes: Codes | None = None
    cross_check: bool | None = None


class SuspensionSyncRequest(Request):
    """Every field is optional; null is the same as leaving a field out. Without days nor
    backfill, today's snapshot is read (after the close)."""

    days: checked(list[Day], maxItems=limits.MAX_CODES) | None = None
    backfill: bool | None = None
    since: Day | None = None


class CalendarSyncRequest(Request):
    """No fields: the calendar sync reads the index from the newest known trading day."""


class FullSyncRequest(Request):
    """``daily``: the after-close update (calendar, then both price syncs from the lists)
    instead of the whole sync. Null is the same as leaving it out."""

    daily: bool | None = None


def page_number(maximum: int) -> type:
    """1 to ``maximum`` in ASCII digits (pydantic's int would also take "+5", "5_0" and " 5")."""

    def whole_number(text: str) -> int:
        digits = text.isascii() and text.isdigit() and len(text) <= len(str(maximum))
        if not (digits and 1 <= int(text) <= maximum):
            raise ValueError(f"must be a whole number from 1 to {maximum}")
        return int(text)

    return Annotated[int, Field(ge=1, le=maximum), BeforeValidator(whole_number)]


class RunErrorsQuery(Schema):
    model_config = {"extra": "forbid"}
    page: page_number(1_000_000) = 1
    page_size: page_number(500) = 50

    @model_validator(mode="before")
    @classmethod
    def closed(cls, data, info):
        """ninja hands a query schema one value of each field it declares, and no other field."""
        query = info.context["request"].GET
        for field in query:
            if field not in cls.model_fields:
                raise refusal(field, f"unknown field {limits.cut(field)!r}")
            if len(query.getlist(field)) > 1:
                raise refusal(field, "give it once")
        return data


class RunListQuery(RunErrorsQuery):
    kind: SyncKind | None = None
    status: SyncStatus | None = None
    page_size: page_number(100) = 20


def counts(name: str, fields) -> type[Schema]:
    """An object of counts named after choices that live in the models."""
    fields = {field: (Count, ...) for field in fields}
    return create_model(name, __config__={"extra": "forbid"}, **fields)


class Run(Schema):
    id: int
    url: str
    kind: SyncKind
    status: SyncStatus
    trigger: SyncTrigger
    requested_by: str | None
    parameters: dict
    provider: str
    parent_id: int | None
    retry_of_id: int | None
    cancel_requested: bool
    queued_at: dt.datetime
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_seconds: Annotated[float, Field(ge=0)] | None
    counters: counts("Counters", COUNTER_FIELDS)
    error_summary: str

    @staticmethod
    def resolve_url(run, context) -> str:
        return context["request"].build_absolute_uri(reverse("etfs_api:run-detail", args=[run.pk]))

    @staticmethod
    def resolve_requested_by(run) -> str | None:
        return run.requested_by and run.requested_by.get_username()

    @staticmethod
    def resolve_duration_seconds(run) -> float | None:
        return run.duration.total_seconds() if run.duration is not None else None

    @staticmethod
    def resolve_counters(run) -> dict:
        return {name: getattr(run, name) for name in COUNTER_FIELDS}


class RunAccepted(Run):
    already_in_progress: bool = Field(description="A run of the same scope was already queued.")


class RunError(Schema):
    id: int
    severity: SyncRunError.Severity
    code: str
    message: str
    detail: str
    created_at: dt.datetime


class Page(Schema):
    count: Count
    page: int
    page_size: int
    next: str | None
    previous: str | None


class RunPage(Page):
    results: list[Run]


class RunDetail(Run):
    errors: create_model("RunErrorPage", __base__=Page, results=(list[RunError], ...))

    @staticmethod
    def resolve_errors(run) -> dict:
        return run.error_page


class EtfSummary(Schema):
    etf_count_by_exchange: counts("EtfCountByExchange", Exchange.values)
    etf_count: Count


class Error(Schema):
    error: Literal[tuple(ERRORS.values())]
    message: str
    field: str | None = Field(None, description="The request field at fault (400 only).")


class ApiError(Exception):
    """An answer in the Error envelope: raised anywhere in a request, rendered by the API."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field

    def body(self) -> dict:
        body = {"error": ERRORS[self.status], "message": self.message}
        return body if self.field is None else {**body, "field": limits.cut(self.field)}
