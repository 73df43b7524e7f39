"""The token-protected JSON API: start syncs, watch runs, count ETFs.

The same door as the admin buttons and the ``--queue`` commands: each view checks its input
(``etfs.sync.validation``), calls ``enqueue_sync`` or a queryset method, and presents the
result. Errors are JSON too: ``{"error": ..., "message": ..., "field": ...}``.

Permissions: the POST endpoints need ``etfs.run_sync``. The run endpoints need
``etfs.view_syncrun`` or ``etfs.run_sync`` (whoever may start runs may watch them); the ETF
summary needs ``etfs.view_stockinfo``. The OpenAPI document is public.
"""

from __future__ import annotations

import functools
import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from .api_auth import TokenRefused, authenticate_bearer, has_any_permission
from .api_openapi import COUNTER_FIELDS, openapi_document
from .models import Exchange, StockInfo, SyncKind, SyncRun, SyncTrigger
from .sync.calendar import shanghai_now
from .sync.queue import enqueue_sync
from .sync.validation import (
    ValidationError,
    parse_list_request,
    parse_page,
    parse_price_request,
    parse_run_filters,
    reject_unknown_fields,
)

logger = logging.getLogger(__name__)

RUN_SYNC = ("etfs.run_sync",)
VIEW_RUNS = ("etfs.view_syncrun", "etfs.run_sync")
VIEW_SECURITIES = ("etfs.view_stockinfo",)
# The largest id PostgreSQL's bigint holds; a larger one cannot name a run.
MAX_ID = 2**63 - 1


def error_response(
    status: int, error: str, message: str, field: str | None = None, headers=None
) -> JsonResponse:
    body = {"error": error, "message": message}
    if field is not None:
        body["field"] = field
    return JsonResponse(body, status=status, headers=headers)


def api_endpoint(*methods: str, permissions: tuple[str, ...] | None = None, public=False):
    """Method check, then token, then permission; a ValidationError becomes a 400 answer."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return error_response(
                    405,
                    "method_not_allowed",
                    f"{request.method} is not allowed here; use {', '.join(methods)}",
                    headers={"Allow": ", ".join(methods)},
                )
            if not public:
                try:
                    request.api_token = authenticate_bearer(request)
                except TokenRefused as exc:
                    challenge = {"WWW-Authenticate": 'Bearer realm="etfsync"'}
                    return error_response(401, "unauthorized", str(exc), headers=challenge)
                if permissions and not has_any_permission(request.api_token, permissions):
                    needed = " or ".join(permissions)
                    return error_response(403, "forbidden", f"the token's owner needs {needed}")
            try:
                return view(request, *args, **kwargs)
            except ValidationError as exc:
                return error_response(400, "invalid", exc.message, exc.field)
            except RequestDataTooBig:
                return error_response(413, "too_large", "the request body is too large", "body")

        return wrapper

    return decorate


def read_json(request) -> object:
    """The decoded body; an empty body is an empty object (every field is optional)."""
    raw = request.body
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise ValidationError("body", f"is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValidationError("body", "is not valid JSON: nested too deeply") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


@api_endpoint("POST", permissions=RUN_SYNC)
def sync_etf_lists(request):
    exchanges = parse_list_request(read_json(request))
    # Both exchanges are stored as no parameter, the way the admin button and the schedule
    # store them, so the run's parameters read the same whichever door started it.
    parameters = {} if set(exchanges) == set(Exchange.values) else {"exchanges": exchanges}
    return enqueue(request, SyncKind.ETF_LISTS, parameters)


@api_endpoint("POST", permissions=RUN_SYNC)
def sync_etf_prices(request):
    options = parse_price_request(
        read_json(request),
        today=shanghai_now().date(),
        known_codes=StockInfo.objects.etf_codes_among,
    )
    return enqueue(request, SyncKind.ETF_PRICES, options.as_parameters())


def enqueue(request, kind: str, parameters: dict) -> JsonResponse:
    """202 with a new run, or 200 with the queued or running run of the same scope."""
    token = request.api_token
    run, created = enqueue_sync(kind, SyncTrigger.API, parameters, user=token.owner)
    logger.info(
        "API token #%s of %s: %s run #%s (%s)",
        token.pk,
        token.owner.get_username(),
        "queued" if created else "joined",
        run.pk,
        kind,
    )
    body = {**run_summary(request, run), "already_in_progress": not created}
    if created:
        return JsonResponse(body, status=202, headers={"Location": body["url"]})
    return JsonResponse(body, status=200)


@api_endpoint("GET", permissions=VIEW_RUNS)
def run_list(request):
    query = dict(request.GET.lists())
    reject_unknown_fields(query, ("kind", "status", "page", "page_size"))
    filters = parse_run_filters(query)
    page, size = parse_page(query, default_size=20, max_size=100)
    runs = SyncRun.objects.filter(parent__isnull=True, **filters).select_related("requested_by")
    return JsonResponse(paginate(request, runs, page, size, lambda run: run_summary(request, run)))


@api_endpoint("GET", permissions=VIEW_RUNS)
def run_detail(request, run_id: int):
    query = dict(request.GET.lists())
    reject_unknown_fields(query, ("page", "page_size"))
    page, size = parse_page(query, default_size=50, max_size=500)
    run = None
    if run_id <= MAX_ID:
        run = SyncRun.objects.select_related("requested_by").filter(pk=run_id).first()
    if run is None:
        return error_response(404, "not_found", f"there is no run #{run_id}")
    body = run_summary(request, run)
    body["errors"] = paginate(request, run.errors.order_by("id"), page, size, run_error)
    return JsonResponse(body)


@api_endpoint("GET", permissions=VIEW_SECURITIES)
def etf_summary(request):
    counts = StockInfo.objects.etf_count_by_exchange()
    return JsonResponse({"etf_count_by_exchange": counts, "etf_count": sum(counts.values())})


@api_endpoint("GET", public=True)
def openapi(request):
    return JsonResponse(openapi_document())


@csrf_exempt
def not_found(request, path=""):
    return error_response(404, "not_found", f"no API endpoint at {request.path}")


def paginate(request, queryset, page: int, size: int, present) -> dict:
    count = queryset.count()
    offset = (page - 1) * size
    items = [present(item) for item in queryset[offset : offset + size]]
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "next": _page_url(request, page + 1) if offset + size < count else None,
        "previous": _page_url(request, page - 1) if page > 1 else None,
        "results": items,
    }


def _page_url(request, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def run_summary(request, run: SyncRun) -> dict:
    duration = run.duration
    return {
        "id": run.pk,
        "url": request.build_absolute_uri(reverse("etfs_api:run-detail", args=[run.pk])),
        "kind": run.kind,
        "status": run.status,
        "trigger": run.trigger,
        "requested_by": run.requested_by.get_username() if run.requested_by else None,
        "parameters": run.parameters,
        "provider": run.provider,
        "parent_id": run.parent_id,
        "retry_of_id": run.retry_of_id,
        "cancel_requested": run.cancel_requested,
        "queued_at": run.queued_at,
        "started_at": run.started_at,
        "heartbeat_at": run.heartbeat_at,
        "finished_at": run.finished_at,
        "duration_seconds": duration.total_seconds() if duration is not None else None,
        "counters": {name: getattr(run, name) for name in COUNTER_FIELDS},
        "error_summary": run.error_summary,
    }


def run_error(error) -> dict:
    return {
        "id": error.pk,
        "severity": error.severity,
        "code": error.code,
        "message": error.message,
        "detail": error.detail,
        "created_at": error.created_at,
    }
