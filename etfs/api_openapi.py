"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Built from the same choices the models use (exchanges, kinds, statuses, counters), so a new
status or counter appears here without a second edit. tests/api/test_openapi.py validates real
responses against this document, which keeps it true.
"""

from __future__ import annotations

from .codes import CODE_PATTERN
from .models import COUNTERS, Exchange, SyncKind, SyncRunError, SyncStatus, SyncTrigger
from .sync.validation import EARLIEST_YEAR, MAX_CODES, MAX_PAGE

COUNTER_FIELDS = ("items_total", *COUNTERS)

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_INTEGER = {"type": ["integer", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def exchange_pattern() -> str:
    """XSHG or XSHE in any case (JSON Schema patterns have no case-insensitive flag)."""
    alternatives = (
        "".join(f"[{char.upper()}{char.lower()}]" for char in code) for code in Exchange.values
    )
    return f"^({'|'.join(alternatives)})$"


def closed_object(properties: dict, required=None, **extra) -> dict:
    """An object schema that allows no other properties (so the document cannot fall behind)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


def page_of(item: dict, description: str) -> dict:
    return closed_object(
        {
            "count": {**INTEGER, "minimum": 0},
            "page": {**INTEGER, "minimum": 1},
            "page_size": {**INTEGER, "minimum": 1},
            "next": {**NULLABLE_STRING, "format": "uri"},
            "previous": {**NULLABLE_STRING, "format": "uri"},
            "results": {"type": "array", "items": item},
        },
        description=description,
    )


RUN_PROPERTIES = {
    "id": INTEGER,
    "url": {**STRING, "format": "uri", "description": "Where to poll this run."},
    "kind": {**STRING, "enum": SyncKind.values},
    "status": {**STRING, "enum": SyncStatus.values},
    "trigger": {**STRING, "enum": SyncTrigger.values},
    "requested_by": {**NULLABLE_STRING, "description": "Username of who started the run."},
    "parameters": {"type": "object", "description": "The options the run was queued with."},
    "provider": STRING,
    "parent_id": NULLABLE_INTEGER,
    "retry_of_id": NULLABLE_INTEGER,
    "cancel_requested": {"type": "boolean"},
    "queued_at": {**STRING, "format": "date-time"},
    "started_at": NULLABLE_TIME,
    "heartbeat_at": NULLABLE_TIME,
    "finished_at": NULLABLE_TIME,
    "duration_seconds": {"type": ["number", "null"], "minimum": 0},
    "counters": closed_object({name: {**INTEGER, "minimum": 0} for name in COUNTER_FIELDS}),
    "error_summary": STRING,
}
RUN = closed_object(RUN_PROPERTIES)
RUN_ERROR = closed_object(
    {
        "id": INTEGER,
        "severity": {**STRING, "enum": SyncRunError.Severity.values},
        "code": {**STRING, "description": "The ETF code concerned, if any."},
        "message": STRING,
        "detail": {**STRING, "description": "The offending answer or row (truncated)."},
        "created_at": {**STRING, "format": "date-time"},
    }
)
RUN_ACCEPTED = closed_object(
    {
        **RUN_PROPERTIES,
        "already_in_progress": {
            "type": "boolean",
            "description": "True when a run of the same scope was already queued or running; "
            "that run is returned instead of a new one.",
        },
    }
)
RUN_DETAIL = closed_object(
    {**RUN_PROPERTIES, "errors": page_of({"$ref": "#/components/schemas/RunError"}, "Problems")}
)
ERROR = closed_object(
    {
        "error": {
            **STRING,
            "enum": [
                "invalid",
                "unauthorized",
                "forbidden",
                "not_found",
                "method_not_allowed",
                "too_large",
            ],
        },
        "message": STRING,
        "field": {**STRING, "description": "The request field at fault (400 only)."},
    },
    required=["error", "message"],
)
LIST_REQUEST = closed_object(
    {
        "exchange_codes": {
            "type": ["array", "null"],
            # Any case is accepted: "xshg" is XSHG.
            "items": {**STRING, "pattern": exchange_pattern(), "examples": Exchange.values},
            "minItems": 1,
            "description": "Exchanges to sync (case-insensitive); default both.",
        }
    },
    required=[],
    description="Every field is optional; null is the same as leaving a field out.",
)
PRICE_REQUEST = closed_object(
    {
        "start_year": {
            **NULLABLE_INTEGER,
            "minimum": EARLIEST_YEAR,
            "description": "First year for ETFs without bars (at most this year). "
            "At most one of start_year, start and full.",
        },
        "start": {**NULLABLE_STRING, "format": "date", "description": "Fetch every ETF from then."},
        "end": {
            **NULLABLE_STRING,
            "format": "date",
            "description": "Last day; default the last final day.",
        },
        "codes": {
            "type": ["array", "null"],
            "items": {**STRING, "pattern": CODE_PATTERN},
            "minItems": 1,
            "maxItems": MAX_CODES,
            "description": "Only these ETFs (their codes must be known); default all listed.",
        },
        "full": {"type": ["boolean", "null"], "description": "Fetch whole histories."},
    },
    required=[],
    description="Every field is optional; null is the same as leaving a field out.",
)


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def error(description: str) -> dict:
    return {"description": description, "content": json_content(ref("Error"))}


COMMON_ERRORS = {
    "401": error("No token, or a bad, revoked or expired one."),
    "403": error("The token's owner lacks the permission this endpoint needs."),
}


def sync_operation(summary: str, request_schema: str) -> dict:
    accepted = json_content(ref("RunAccepted"))
    return {
        "post": {
            "summary": summary,
            "description": "Needs the permission etfs.run_sync.",
            "requestBody": {"required": False, "content": json_content(ref(request_schema))},
            "responses": {
                "202": {
                    "description": "A new run was queued; poll its url.",
                    "headers": {"Location": {"schema": {**STRING, "format": "uri"}}},
                    "content": accepted,
                },
                "200": {
                    "description": "A run of the same scope was already queued or running; "
                    "that run, with already_in_progress true. Nothing new was queued.",
                    "content": accepted,
                },
                "400": error("Bad input (malformed JSON, wrong type, unknown field or code, ...)."),
                "413": error("The body is too large."),
                **COMMON_ERRORS,
            },
        }
    }


def query_parameter(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PAGE_PARAMETERS = [
    query_parameter("page", {**INTEGER, "minimum": 1, "maximum": MAX_PAGE}, "Page, from 1."),
    query_parameter("page_size", {**INTEGER, "minimum": 1}, "Items per page."),
]
VIEW_RUNS = "Needs the permission etfs.view_syncrun or etfs.run_sync."


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "etfsync API",
            "version": "1",
            "description": "Start ETF list and price syncs and follow their runs. "
            "Authenticate with Authorization: Bearer <token>; tokens are made in the admin. "
            "Errors are JSON objects (the Error schema); a method an endpoint does not offer "
            "gets 405 with an Allow header, and a path under /api/ that is not listed gets 404.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/sync/etf/lists": sync_operation("Queue an ETF list sync", "ListSyncRequest"),
            "/api/sync/etf/prices": sync_operation("Queue an ETF price sync", "PriceSyncRequest"),
            "/api/sync/runs": {
                "get": {
                    "summary": "Recent top-level runs, newest first",
                    "description": VIEW_RUNS,
                    "parameters": [
                        query_parameter("kind", {**STRING, "enum": SyncKind.values}, "Filter."),
                        query_parameter("status", {**STRING, "enum": SyncStatus.values}, "Filter."),
                        PAGE_PARAMETERS[0],
                        {**PAGE_PARAMETERS[1], "schema": {**INTEGER, "minimum": 1, "maximum": 100}},
                    ],
                    "responses": {
                        "200": {
                            "description": "A page of runs.",
                            "content": json_content(page_of(ref("Run"), "Runs")),
                        },
                        "400": error("An unknown filter value or query field."),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/sync/runs/{run_id}": {
                "get": {
                    "summary": "One run: status, counters, times, error summary, problems",
                    "description": VIEW_RUNS + " The problems (per-item errors) are paginated.",
                    "parameters": [
                        {"name": "run_id", "in": "path", "required": True, "schema": INTEGER},
                        PAGE_PARAMETERS[0],
                        {**PAGE_PARAMETERS[1], "schema": {**INTEGER, "minimum": 1, "maximum": 500}},
                    ],
                    "responses": {
                        "200": {
                            "description": "The run.",
                            "content": json_content(ref("RunDetail")),
                        },
                        "400": error("A bad page number or an unknown query field."),
                        "404": error("No such run."),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/etfs/summary": {
                "get": {
                    "summary": "How many listed ETFs each exchange has",
                    "description": "Needs the permission etfs.view_stockinfo.",
                    "responses": {
                        "200": {
                            "description": "Counts.",
                            "content": json_content(ref("EtfSummary")),
                        },
                        **COMMON_ERRORS,
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": json_content({"type": "object"}),
                        },
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "ListSyncRequest": LIST_REQUEST,
                "PriceSyncRequest": PRICE_REQUEST,
                "Run": RUN,
                "RunAccepted": RUN_ACCEPTED,
                "RunDetail": RUN_DETAIL,
                "RunError": RUN_ERROR,
                "EtfSummary": closed_object(
                    {
                        "etf_count_by_exchange": closed_object(
                            {code: {**INTEGER, "minimum": 0} for code in Exchange.values}
                        ),
                        "etf_count": {**INTEGER, "minimum": 0},
                    }
                ),
                "Error": ERROR,
            },
        },
    }
