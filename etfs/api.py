"""The token-protected JSON API on django-ninja: start syncs, watch runs, count ETFs.

The same door as the admin buttons and the ``--queue`` commands: an endpoint takes a request its
schema has checked (``api_schemas``), queues a run or reads a queryset, and answers with a
schema. Every refusal is the envelope ``{"error", "message", "field"}``, whoever refuses.
"""

from __future__ import annotations

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from ninja import NinjaAPI, Query, Status
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser

from . import api_schemas as schemas
from .api_auth import TokenAuth
from .api_schemas import ApiError, ListSyncRequest, PriceSyncRequest
from .models import Exchange, StockInfo, SyncKind, SyncRun, SyncTrigger
from .sync import limits
from .sync.prices import PriceOptions
from .sync.queue import enqueue_sync

logger = logging.getLogger(__name__)

RUN_SYNC = TokenAuth("etfs.run_sync")
VIEW_RUNS = TokenAuth("etfs.view_syncrun", "etfs.run_sync")  # who may start runs may watch them
VIEW_SECURITIES = TokenAuth("etfs.view_stockinfo")
MAX_ID = 2**63 - 1  # PostgreSQL's largest bigint: a larger id names no run


class JsonObjectParser(Parser):
    """Any content type is read as JSON (``curl -d`` works as shown); a blank body is ``{}``."""

    def parse_body(self, request) -> dict:
        try:
            body = json.loads(request.body.strip() or b"{}", parse_constant=refuse_constant)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            raise ApiError(400, f"is not valid JSON: {exc}", "body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "must be a JSON object", "body")
        return body


def refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


api = NinjaAPI(
    title="etfsync API",
    version="1",
    description="Start ETF list and price syncs and follow their runs. "
    "Authenticate with `Authorization: Bearer <token>`; tokens are made in the admin. "
    "Errors are JSON objects (the Error schema); a method an endpoint does not offer "
    "gets 405 with an Allow header, and a path under /api/ that is not listed gets 404.",
    urls_namespace="etfs_api",
    parser=JsonObjectParser(),
    openapi_url=None,  # the document is an operation below (GET only); the docs page is in urls
    docs_url=None,
)


@api.exception_handler(ApiError)
def refuse(request, error: ApiError) -> HttpResponse:
    response = api.create_response(request, error.body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="etfsync"'
    return response


@api.exception_handler(ValidationError)
def refuse_invalid(request, exc: ValidationError) -> HttpResponse:
    """The first problem (unknown fields first), naming the field at fault."""
    first = min(exc.errors, key=lambda error: error["type"] != "extra_forbidden")
    context = first.get("ctx", {})
    # The location ends with the field (or the unknown one), perhaps followed by an item's index.
    field = context.get("field") or [part for part in first["loc"] if isinstance(part, str)][-1]
    if first["type"] == "extra_forbidden":
        return refuse(request, ApiError(400, f"unknown field {limits.cut(field)!r}", field))
    return refuse(request, ApiError(400, str(context.get("error") or first["msg"]), field))


@api.exception_handler(HttpError)
def refuse_unreadable(request, exc: HttpError) -> HttpResponse:
    """ninja wraps the body parser's refusal in an HttpError."""
    cause = exc.__cause__
    return refuse(request, cause if isinstance(cause, ApiError) else ApiError(400, str(exc)))


@api.exception_handler(RequestDataTooBig)
def refuse_too_large(request, exc: RequestDataTooBig) -> HttpResponse:
    return refuse(request, ApiError(413, "the request body is too large"))


def errors(*statuses: int) -> dict:
    return dict.fromkeys(statuses, schemas.Error)


QUEUED = {202: schemas.RunAccepted, 200: schemas.RunAccepted, **errors(400, 413, 401, 403)}
NO_LIST_FIELDS, NO_PRICE_FIELDS = ListSyncRequest(), PriceSyncRequest()  # an empty body


@api.post("/sync/etf/lists", auth=RUN_SYNC, response=QUEUED)
def queue_list_sync(request, response: HttpResponse, body: ListSyncRequest = NO_LIST_FIELDS):
    """Needs the permission etfs.run_sync."""
    exchanges = body.exchange_codes or Exchange.values
    # Both exchanges are stored as no parameter, the way the admin button and the schedule
    # store them, so the run's parameters read the same whichever door started it.
    parameters = {} if set(exchanges) == set(Exchange.values) else {"exchanges": exchanges}
    return enqueue(request, response, SyncKind.ETF_LISTS, parameters)


@api.post("/sync/etf/prices", auth=RUN_SYNC, response=QUEUED)
def queue_price_sync(request, response: HttpResponse, body: PriceSyncRequest = NO_PRICE_FIELDS):
    """Needs the permission etfs.run_sync. At most one of start_year, start and full."""
    try:
        codes = limits.check_known_codes(body.codes or (), StockInfo.objects.etf_codes_among)
    except ValueError as exc:
        raise ApiError(400, str(exc), "codes") from None
    options = PriceOptions(codes, body.start, body.end, body.start_year, full=bool(body.full))
    return enqueue(request, response, SyncKind.ETF_PRICES, options.as_parameters())


def enqueue(request, response: HttpResponse, kind: str, parameters: dict) -> Status:
    """202 with a new run, or 200 with the queued or running run of the same scope."""
    token = request.auth
    run, created = enqueue_sync(kind, SyncTrigger.API, parameters, user=token.owner)
    action = "queued" if created else "joined"
    owner = token.owner.get_username()
    logger.info("API token #%s of %s: %s run #%s (%s)", token.pk, owner, action, run.pk, kind)
    run.already_in_progress = not created
    if created:
        response["Location"] = schemas.Run.resolve_url(run, {"request": request})
    return Status(202 if created else 200, run)


@api.get("/sync/runs", auth=VIEW_RUNS, response={200: schemas.RunPage, **errors(400, 401, 403)})
def list_runs(request, query: Query[schemas.RunListQuery]):
    """Top-level runs, newest first. Needs etfs.view_syncrun or etfs.run_sync."""
    filters = {name: getattr(query, name) for name in ("kind", "status") if getattr(query, name)}
    runs = SyncRun.objects.filter(parent__isnull=True, **filters).select_related("requested_by")
    return paginate(request, runs, query)


@api.get(
    "/sync/runs/{int:run_id}",
    auth=VIEW_RUNS,
    response={200: schemas.RunDetail, **errors(400, 404, 401, 403)},
    url_name="run-detail",
)
def show_run(request, run_id: int, query: Query[schemas.RunErrorsQuery]):
    """One run, its problems paginated. Needs etfs.view_syncrun or etfs.run_sync."""
    runs = SyncRun.objects.select_related("requested_by")
    run = runs.filter(pk=run_id).first() if run_id <= MAX_ID else None
    if run is None:
        raise ApiError(404, f"there is no run #{run_id}")
    run.error_page = paginate(request, run.errors.order_by("id"), query)
    return run


@api.get(
    "/etfs/summary", auth=VIEW_SECURITIES, response={200: schemas.EtfSummary, **errors(401, 403)}
)
def count_etfs(request):
    """Listed ETFs per exchange. Needs etfs.view_stockinfo."""
    counts = StockInfo.objects.etf_count_by_exchange()
    return {"etf_count_by_exchange": counts, "etf_count": sum(counts.values())}


@api.get("/openapi.json", response=dict, url_name="openapi-json")
def openapi_document(request):
    """This document; no token needed."""
    return api.get_openapi_schema()


def paginate(request, queryset, query) -> dict:
    count, page, size = queryset.count(), query.page, query.page_size
    offset = (page - 1) * size
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "next": page_url(request, page + 1) if offset + size < count else None,
        "previous": page_url(request, page - 1) if page > 1 else None,
        "results": list(queryset[offset : offset + size]),
    }


def page_url(request, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
