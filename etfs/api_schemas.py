"""What the API accepts and answers, as schemas; /api/openapi.json is generated from them.

Requests are closed (``extra="forbid"``) and strict (the JSON string ``"2020"`` is no year,
``true`` no integer); a field given as null counts as left out. The limits are those of
``etfs.sync.limits``, shared with the commands: a schema says where they apply and words the
refusal. Answers are read from the models, so no field can be left out of one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.urls import reverse
from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    WrapValidator,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .codes import CODE_PATTERN
from .models import COUNTERS, Exchange, SyncKind, SyncRunError, SyncStatus, SyncTrigger
from .sync import limits
from .sync.calendar import shanghai_now

COUNTER_FIELDS = ("items_total", *COUNTERS)
MAX_PAGE = 1_000_000
Count = Annotated[int, Field(ge=0)]


def says(message: str) -> WrapValidator:
    """Pydantic's own check of the value, refused in the API's words."""

    def validate(value, handler):
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(message) from None

    return WrapValidator(validate)


def documented(**keywords) -> Field:
    """JSON Schema keywords for the document; the check itself is a validator in the API's words."""
    return Field(json_schema_extra=keywords)


def field_error(field: str, message: str) -> PydanticCustomError:
    """A refusal that names its field although the whole request was needed to see it."""
    return PydanticCustomError("invalid", "{message}", {"field": field, "message": message})


def whole_number(maximum: int):
    """1 to ``maximum`` in ASCII digits (int() would also take "+5", "5_0" and "５")."""
    digits = BeforeValidator(lambda text: text if text.isascii() and text.isdigit() else None)
    message = f"must be a whole number from 1 to {maximum}"
    return Annotated[int, Field(ge=1, le=maximum), digits, says(message)]


# XSHG or XSHE in any case (JSON Schema patterns have no case-insensitive flag).
EXCHANGE_PATTERN = "^({})$".format(
    "|".join("".join(f"[{c.upper()}{c.lower()}]" for c in code) for code in Exchange.values)
)
ExchangeCodes = Annotated[
    list[Annotated[StrictStr, documented(pattern=EXCHANGE_PATTERN)]],
    says("must be a list of exchange codes (strings)"),
    AfterValidator(limits.check_exchanges),
    documented(minItems=1),
]
Codes = Annotated[
    list[Annotated[StrictStr, documented(pattern=CODE_PATTERN)]],
    says("must be a list of ETF codes (strings)"),
    AfterValidator(limits.check_codes),
    documented(minItems=1, maxItems=limits.MAX_CODES),
]
Day = Annotated[
    StrictStr,
    says("must be a date as a string, YYYY-MM-DD"),
    AfterValidator(lambda text: limits.parse_day(text, shanghai_now().date())),
    documented(format="date"),
]
StartYear = Annotated[
    StrictInt,
    says("must be an integer"),
    AfterValidator(lambda year: limits.check_start_year(year, shanghai_now().date())),
    documented(minimum=limits.EARLIEST_YEAR),
]


class Request(Schema):
    model_config = ConfigDict(extra="forbid")


class ListSyncRequest(Request):
    """Every field is optional; null is the same as leaving a field out."""

    exchange_codes: ExchangeCodes | None = None


class PriceSyncRequest(Request):
    """Every field is optional; null is the same as leaving a field out."""

    start_year: StartYear | None = None
    start: Day | None = None
    end: Day | None = None
    codes: Codes | None = None
    full: Annotated[StrictBool, says("must be true or false")] | None = None

    @model_validator(mode="after")
    def one_start_and_an_ordered_window(self) -> PriceSyncRequest:
        # Each picks where a fund's history starts; more than one would leave that to chance.
        chosen = [name for name in ("start_year", "start", "full") if getattr(self, name)]
        if len(chosen) > 1:
            message = f"cannot be combined with {chosen[0]}; give one of them"
            raise field_error(chosen[1], message)
        try:
            limits.check_date_range(self.start, self.end)
        except ValueError as exc:
            raise field_error("start", str(exc)) from None
        return self


class QueryString(Request):
    @model_validator(mode="before")
    @classmethod
    def closed(cls, data, info):
        """ninja hands the schema one value of each field it declares, and no other field."""
        query = info.context["request"].GET
        for field in query:
            if field not in cls.model_fields:
                raise field_error(field, f"unknown field {limits.cut(field)!r}")
            if len(query.getlist(field)) > 1:
                raise field_error(field, "give it once")
        return data


class RunListQuery(QueryString):
    kind: SyncKind | None = None
    status: SyncStatus | None = None
    page: whole_number(MAX_PAGE) = 1
    page_size: whole_number(100) = 20


class RunErrorsQuery(QueryString):
    page: whole_number(MAX_PAGE) = 1
    page_size: whole_number(500) = 50


def counts(name: str, fields: list[str]) -> type[Schema]:
    """An object of counts named after choices that live in the models."""
    fields = {field: (Count, ...) for field in fields}
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


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
        return run.requested_by.get_username() if run.requested_by else None

    @staticmethod
    def resolve_duration_seconds(run) -> float | None:
        return run.duration.total_seconds() if run.duration is not None else None

    @staticmethod
    def resolve_counters(run) -> dict:
        return {name: getattr(run, name) for name in COUNTER_FIELDS}


class RunAccepted(Run):
    # True when a run of the same scope was already queued or running: that run, not a new one.
    already_in_progress: bool


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
    class RunErrorPage(Page):
        results: list[RunError]

    errors: RunErrorPage

    @staticmethod
    def resolve_errors(run) -> dict:
        return run.error_page


class EtfSummary(Schema):
    etf_count_by_exchange: counts("EtfCountByExchange", Exchange.values)
    etf_count: Count


ERRORS = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


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
