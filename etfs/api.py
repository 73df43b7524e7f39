"""The token-protected JSON API on django-ninja: start syncs, watch runs, count ETFs.

The same door as the admin buttons and the ``--queue`` commands: an endpoint takes a request its
schema has checked (``api_schemas``), queues a run or reads a queryset, and answers with a
schema. Every refusal, whoever refuses, is the envelope ``{"error", "message", "field"}``.
"""

from __future__ import annotations

import json
import logging
from functools import partial, wraps

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, re_path
from django.utils import timezone
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.openapi.views import openapi_view
from ninja.parser import Parser
from ninja.security import HttpBearer

from . import api_schemas as schemas
from . import limits
from .api_schemas import (
    ApiError,
    CalendarSyncRequest,
    CorporateActionSyncRequest,
    FullSyncRequest,
    ListSyncRequest,
    PriceSyncRequest,
    StockPriceSyncRequest,
    SuspensionSyncRequest,
)
from .models import ApiToken, Exchange, StockInfo, SyncKind, SyncRun, SyncTrigger
from .sync.corporate_actions import ActionOptions
from .sync.prices import PriceOptions
from .sync.runs import cancel_runs
from .sync.suspensions import SuspensionOptions
from .tasks import enqueue_sync

logger = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``: a usable token whose owner holds one of ``permissions``.

    Session cookies count for nothing here, so the API needs no CSRF protection. The secret is
    looked up by its SHA-256, so a lookup's time says nothing of how close a guess was; it is
    never logged or stored. The owner's permissions are read at each request: taking one away
    from the user takes it from their tokens.
    """

    def __init__(self, *permissions: str):
        super().__init__()
        self.permissions = permissions

    def __call__(self, request) -> ApiToken | None:
        # Not HttpBearer's own: with DEBUG on, that logs a header of another scheme, secret and all.
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        return self.authenticate(request, secret) if scheme.lower() == "bearer" else None

    def authenticate(self, request, token: str) -> ApiToken:
        hashed = ApiToken.hash_secret(token.strip())
        found = ApiToken.objects.select_related("owner").filter(token_hash=hashed).first()
        if found is None or found.state != "active" or not found.owner.is_active:
            raise ApiError(401, TOKEN_REFUSALS[found and found.state])
        if not any(map(found.owner.has_perm, self.permissions)):
            raise ApiError(403, f"the token's owner needs {' or '.join(self.permissions)}")
        found.last_used_at = timezone.now()
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=found.last_used_at)
        return found


# By the token's state (None: no such token); an "active" token refused has an inactive owner.
TOKEN_REFUSALS = {
    None: "the token is not valid",
    "revoked": "the token has been revoked",
    "expired": "the token has expired",
    "active": "the token's owner is not active",
}
RUN_SYNC = TokenAuth("etfs.run_sync")
VIEW_RUNS = TokenAuth("etfs.view_syncrun", "etfs.run_sync")  # who may start runs may watch them
VIEW_SECURITIES = TokenAuth("etfs.view_stockinfo")
MAX_ID = 2**63 - 1  # PostgreSQL's largest bigint: a larger id names no run


class JsonParser(Parser):
    """Any content type is read as JSON (``curl -d`` works as shown); a blank body is ``{}``."""

    def parse_body(self, request):
        return json.loads(request.body.strip() or b"{}", parse_constant=refuse_constant)


def refuse_constant(name: str):  # NaN and Infinity, which Python's json reads
    raise ValueError(f"{name} is not a JSON value")


class LocalSwagger(Swagger):
    """The docs page with django-ninja's Swagger UI files from this site (WhiteNoise serves
    them from ninja's static folder, settings.STATICFILES_DIRS), never from a CDN the server
    may not reach. ninja renders them so only when it is an installed app, and as one it
    imported itself and pydantic into every command's start-up (0.08 s each)."""

    def render_page(self, request, api, **kwargs):
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {
            "swagger_settings": json.dumps(self.settings, indent=1),
            "api": api,
            "add_csrf": False,  # bearer tokens only: no cookie, no CSRF token
        }
        return render(request, self.template, context)


api = NinjaAPI(
    title="etfsync API",
    version="1",
    description="Start ETF list and price syncs and follow their runs. "
    "Authenticate with `Authorization: Bearer <token>`; tokens are made in the admin. "
    "Errors are JSON objects (the Error schema); a method an endpoint does not offer "
    "gets 405 with an Allow header, and a path under /api/ that is not listed gets 404.",
    urls_namespace="etfs_api",
    parser=JsonParser(),
    openapi_url=None,  # the document is an operation below (GET only); the docs page is in urls
    docs_url=None,
    docs=LocalSwagger(),
)


def refuse(request, error: ApiError) -> HttpResponse:
    response = api.create_response(request, error.body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="etfsync"'
    return response


# What ninja and Django raise, refused in the envelope too (ninja answers in its own shapes).
REFUSALS = {
    ApiError: lambda error: error,
    ValidationError: lambda exc: invalid(exc.errors),
    AuthenticationError: lambda _: ApiError(401, "send the header Authorization: Bearer <token>"),
    # The only HttpError raised here: a body the parser could not read (a RecursionError when
    # nested too deeply); ninja keeps the parser's exception as the cause.
    HttpError: lambda exc: ApiError(400, f"is not valid JSON: {exc.__cause__}", "body"),
    RequestDataTooBig: lambda _: ApiError(413, "the request body is too large"),
}
for raised, as_refusal in REFUSALS.items():
    api.add_exception_handler(raised, lambda request, exc, to=as_refusal: refuse(request, to(exc)))


def invalid(errors: list[dict]) -> ApiError:
    """The first problem (unknown fields first), naming the field at fault."""
    first = min(errors, key=lambda error: error["type"] != "extra_forbidden")
    context = first.get("ctx", {})
    # The location ends with the field (or the unknown one), perhaps followed by an item's index.
    field = context.get("field") or [part for part in first["loc"] if isinstance(part, str)][-1]
    if first["type"] == "extra_forbidden":
        return ApiError(400, f"unknown field {limits.cut(field)!r}", field)
    message = context.get("error") or schemas.WRONG_TYPE.get(field) or first["msg"]
    return ApiError(400, str(message), field)


def errors(*statuses: int) -> dict:
    return dict.fromkeys(statuses, schemas.Error)


QUEUED = {202: schemas.RunAccepted, 200: schemas.RunAccepted, **errors(400, 413, 401, 403)}
NO_LIST_FIELDS, NO_PRICE_FIELDS = ListSyncRequest(), PriceSyncRequest()  # an empty body
NO_STOCK_PRICE_FIELDS, NO_FULL_SYNC_FIELDS = StockPriceSyncRequest(), FullSyncRequest()
NO_ACTION_FIELDS, NO_CALENDAR_FIELDS = CorporateActionSyncRequest(), CalendarSyncRequest()
NO_SUSPENSION_FIELDS = SuspensionSyncRequest()


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
    options = PriceOptions(body.codes or (), body.start, body.end, body.start_year, bool(body.full))
    return enqueue(request, response, SyncKind.ETF_PRICES, options.as_parameters())


@api.post("/sync/stock/lists", auth=RUN_SYNC, response=QUEUED)
def queue_stock_list_sync(request, response: HttpResponse, body: ListSyncRequest = NO_LIST_FIELDS):
    """Needs the permission etfs.run_sync. The A shares of the main boards, STAR and ChiNext."""
    exchanges = body.exchange_codes or Exchange.values
    parameters = {} if set(exchanges) == set(Exchange.values) else {"exchanges": exchanges}
    return enqueue(request, response, SyncKind.STOCK_LISTS, parameters)


@api.post("/sync/stock/prices", auth=RUN_SYNC, response=QUEUED)
def queue_stock_price_sync(
    request, response: HttpResponse, body: StockPriceSyncRequest = NO_STOCK_PRICE_FIELDS
):
    """Needs the permission etfs.run_sync. At most one of start_year, start and full."""
    options = PriceOptions(body.codes or (), body.start, body.end, body.start_year, bool(body.full))
    return enqueue(request, response, SyncKind.STOCK_PRICES, options.as_parameters())


@api.post("/sync/full", auth=RUN_SYNC, response=QUEUED)
def queue_full_sync(request, response: HttpResponse, body: FullSyncRequest = NO_FULL_SYNC_FIELDS):
    """Needs the permission etfs.run_sync. Calendar, both lists, both price syncs and the
    corporate actions as one run with a child run per step (``daily``: the after-close update)."""
    parameters = {"daily": True} if body.daily else {}
    return enqueue(request, response, SyncKind.FULL_SYNC, parameters)


@api.post("/sync/calendar", auth=RUN_SYNC, response=QUEUED)
def queue_calendar_sync(
    request, response: HttpResponse, body: CalendarSyncRequest = NO_CALENDAR_FIELDS
):
    """Needs the permission etfs.run_sync."""
    return enqueue(request, response, SyncKind.CALENDAR, {})


@api.post("/sync/corporate-actions", auth=RUN_SYNC, response=QUEUED)
def queue_corporate_action_sync(
    request, response: HttpResponse, body: CorporateActionSyncRequest = NO_ACTION_FIELDS
):
    """Needs the permission etfs.run_sync."""
    options = ActionOptions(
        years=tuple(sorted(set(body.years or ()))),
        cross_check=bool(body.cross_check),
        codes=tuple(body.codes or ()),
    )
    return enqueue(request, response, SyncKind.CORPORATE_ACTIONS, options.as_parameters())


@api.post("/sync/suspensions", auth=RUN_SYNC, response=QUEUED)
def queue_suspension_sync(
    request, response: HttpResponse, body: SuspensionSyncRequest = NO_SUSPENSION_FIELDS
):
    """Needs the permission etfs.run_sync."""
    options = SuspensionOptions(
        days=tuple(sorted(set(body.days or ()))),
        backfill=bool(body.backfill),
        since=body.since,
    )
    return enqueue(request, response, SyncKind.SUSPENSIONS, options.as_parameters())


@api.post(
    "/sync/runs/{int:run_id}/cancel",
    auth=RUN_SYNC,
    response={202: schemas.Run, **errors(404, 409, 401, 403)},
)
def cancel_run(request, run_id: int):
    """Ask a queued or running run to stop: a queued one is cancelled at once, a running one
    stops at its next item (its chunks too). 409 when the run has ended. Needs etfs.run_sync."""
    run = SyncRun.objects.filter(pk=run_id).first() if run_id <= MAX_ID else None
    if run is None:
        raise ApiError(404, f"there is no run #{run_id}")
    if run.is_final:
        raise ApiError(409, f"run #{run_id} has ended already ({run.status})")
    cancel_runs(SyncRun.objects.filter(pk=run_id))
    logger.info("API token #%s: asked run #%s to stop", request.auth.pk, run_id)
    run.refresh_from_db()
    return Status(202, run)


def enqueue(request, response: HttpResponse, kind: str, parameters: dict) -> Status:
    """202 with a new run, or 200 with the queued or running run of the same scope."""
    token = request.auth
    run, created = enqueue_sync(kind, SyncTrigger.API, parameters, user=token.owner)
    owner, action = token.owner.get_username(), "queued" if created else "joined"
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
    "/etfs/summary",
    auth=VIEW_SECURITIES,
    response={200: schemas.EtfSummary, **errors(401, 403)},
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


# URLs, mounted at /api/: a 405 answers in the envelope too, any other path under /api/ gets a
# JSON 404 rather than the HTML page, and the interactive docs need a staff login.
def not_found(request, path=""):
    return refuse(request, ApiError(404, f"no API endpoint at {request.path}"))


def enveloped_405(view):
    @wraps(view)
    def answer(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405:
            allowed = response["Allow"]
            message = f"{request.method} is not allowed here; use {allowed}"
            response = refuse(request, ApiError(405, message))
            response["Allow"] = allowed
        return response

    return answer


def docs(request):
    if not settings.ETFSYNC_API_DOCS:
        return not_found(request)
    return staff_member_required(partial(openapi_view, api=api))(request)


def answering_in_json(route: URLPattern) -> URLPattern:
    # ninja's root (/api/ itself) serves only to reverse the API's prefix: a 404 there too.
    view = not_found if route.name == "api-root" else enveloped_405(route.callback)
    return URLPattern(route.pattern, view, name=route.name)


app_name = "etfs_api"
urlpatterns = [*map(answering_in_json, api.urls[0]), path("docs", docs, name="docs")]
urlpatterns += [re_path(r"^(?P<path>.*)$", not_found)]
