"""/api/openapi.json is a valid OpenAPI 3.1 document, and real responses agree with it.

Every (path, method, status) the document lists is produced by a real request here and its
response validated (status, headers, body) with openapi-core; a response the document does not
list fails the test. So the document can neither promise something the API does not do nor
miss something it does.
"""

from __future__ import annotations

import pytest
from django.test import Client
from openapi_spec_validator import validate as validate_spec

from tests.factories import make_run, make_run_error, make_security

from .conftest import Api, Checker, make_token

pytestmark = pytest.mark.django_db

LISTS = "/api/sync/etf/lists"
PRICES = "/api/sync/etf/prices"


def documented_responses(document: dict) -> set[tuple[str, str, str]]:
    return {
        (path, method, status)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status in operation["responses"]
    }


def test_the_document_is_valid_openapi_31_and_public(document):
    validate_spec(document)
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/api/sync/etf/lists",
        "/api/sync/etf/prices",
        "/api/sync/stock/lists",
        "/api/sync/stock/prices",
        "/api/sync/full",
        "/api/sync/calendar",
        "/api/sync/corporate-actions",
        "/api/sync/suspensions",
        "/api/sync/runs",
        "/api/sync/runs/{run_id}/cancel",
        "/api/sync/runs/{run_id}",
        "/api/etfs/summary",
        "/api/openapi.json",
    }


def test_real_responses_match_the_document_and_cover_it(document, client, settings, api_as):
    check = Checker(document)
    api = api_as("etfs.run_sync", "etfs.view_syncrun", "etfs.view_stockinfo", username="robot")
    reader = api_as("etfs.view_syncrun", username="reader")
    anonymous = Api(Client(), None)
    make_security("510300")
    make_security("159915", "XSHE")
    make_security("600000", is_etf=False, board="main")

    for path, body, bad in [
        (LISTS, {"exchange_codes": ["XSHG"]}, {"exchange_codes": ["XNYS"]}),
        (PRICES, {"start": "2024-01-01", "end": "2024-06-30", "codes": ["510300"]}, {"x": 1}),
        ("/api/sync/calendar", {}, {"x": 1}),
        ("/api/sync/corporate-actions", {"years": [2024], "cross_check": True}, {"years": [1800]}),
        ("/api/sync/suspensions", {"days": ["2024-03-01"]}, {"days": ["2024-02-30"]}),
        ("/api/sync/stock/lists", {"exchange_codes": ["XSHE"]}, {"exchange_codes": ["XNYS"]}),
        ("/api/sync/full", {"daily": True}, {"daily": "yes"}),
        (
            "/api/sync/stock/prices",
            {"start_year": 2020, "codes": ["600000"]},
            {"codes": ["510300"]},
        ),
    ]:
        queued = check(api.post(path, body), 202).json()
        assert check(api.post(path, body), 200).json()["id"] == queued["id"]
        check(api.post(path, bad), 400)
        check(anonymous.post(path, body), 401)
        check(reader.post(path, body), 403)

    run = make_run("etf_prices", status="partial", items_total=2, items_failed=1)
    make_run_error(run, "timeout", code="510300", detail="<html>")
    make_run_error(run, "volume in lots?", code="159915", severity="warning")
    detail = f"/api/sync/runs/{run.pk}"
    check(api.get(detail), 200)
    check(api.get(detail, page_size=1, page=2), 200)
    check(api.get(detail, page=0), 400)
    check(api.get("/api/sync/runs/999999"), 404)
    check(anonymous.get(detail), 401)
    check(api_as(username="nobody").get(detail), 403)

    check(api.get("/api/sync/runs"), 200)
    check(api.get("/api/sync/runs", kind="etf_prices", status="queued", page_size=1), 200)
    check(api.get("/api/sync/runs", status="done"), 400)
    check(anonymous.get("/api/sync/runs"), 401)
    check(api_as(username="nobody2").get("/api/sync/runs"), 403)

    running = make_run("etf_lists", status="running", scope="etf_lists:running")
    cancel = f"/api/sync/runs/{running.pk}/cancel"
    check(anonymous.post(cancel), 401)
    check(reader.post(cancel), 403)
    check(api.post(cancel), 202)
    check(api.post(f"/api/sync/runs/{run.pk}/cancel"), 409)
    check(api.post("/api/sync/runs/999999/cancel"), 404)

    check(api.get("/api/etfs/summary"), 200)
    check(anonymous.get("/api/etfs/summary"), 401)
    check(reader.get("/api/etfs/summary"), 403)

    check(anonymous.get("/api/openapi.json"), 200)

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    for path, body in [
        (LISTS, {"exchange_codes": ["XSHG"] * 50}),
        (PRICES, {"x": "y" * 200}),
        ("/api/sync/calendar", {"x": "y" * 200}),
        ("/api/sync/corporate-actions", {"x": "y" * 200}),
        ("/api/sync/suspensions", {"x": "y" * 200}),
        ("/api/sync/stock/lists", {"exchange_codes": ["XSHG"] * 50}),
        ("/api/sync/stock/prices", {"x": "y" * 200}),
        ("/api/sync/full", {"x": "y" * 200}),
    ]:
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
        response = api.post(path, body)
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = limit  # openapi-core reads the body too
        check(response, 413)

    assert check.seen == documented_responses(document)

    check.undocumented_error(api.request("GET", LISTS), 405)
    check.undocumented_error(api.request("DELETE", detail), 405)
    check.undocumented_error(api.get("/api/sync/elsewhere"), 404)


def test_a_run_with_every_field_filled_matches(document, client, syncer):
    """Times, a parent, a retry and a cancel request: the nullable fields with values."""
    check = Checker(document)
    _, secret = make_token(syncer)
    parent = make_run("etf_prices", status="cancelled", scope="etf_prices:codes=510300")
    retried = make_run("etf_prices", status="failed", scope="old")
    chunk = make_run(
        "etf_prices",
        status="cancelled",
        parent=parent,
        retry_of=retried,
        cancel_requested=True,
        trigger="admin",
        requested_by=syncer,
        parameters={"codes": ["510300"], "start_year": 2020},
        scope="",
    )

    body = check(Api(client, secret).get(f"/api/sync/runs/{chunk.pk}"), 200).json()

    assert body["parent_id"] == parent.pk and body["retry_of_id"] == retried.pk
