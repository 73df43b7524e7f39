"""The stock sync endpoints: the ETF endpoints' auth, envelope, limits and joining."""

from __future__ import annotations

import pytest
from django_q.models import OrmQ

from etfs.models import SyncRun
from tests.factories import make_security, make_staff_user

from .conftest import Api, make_token

pytestmark = pytest.mark.django_db

STOCK_LISTS = "/api/sync/stock/lists"
STOCK_PRICES = "/api/sync/stock/prices"


def test_a_stock_list_sync_is_queued_and_the_same_scope_is_joined(api, syncer):
    first = api.post(STOCK_LISTS, {"exchange_codes": ["XSHG", "XSHE"]})
    second = api.post(STOCK_LISTS)

    assert first.status_code == 202 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["already_in_progress"] is True
    run = SyncRun.objects.get()
    assert (run.kind, run.trigger, run.requested_by, run.parameters) == (
        "stock_lists",
        "api",
        syncer,
        {},
    )
    assert first["Location"] == first.json()["url"]
    assert OrmQ.objects.count() == 1


def test_one_exchange_is_its_own_scope(api):
    whole = api.post(STOCK_LISTS)
    one = api.post(STOCK_LISTS, {"exchange_codes": ["xshe"]})

    assert whole.status_code == one.status_code == 202
    assert SyncRun.objects.get(pk=one.json()["id"]).parameters == {"exchanges": ["XSHE"]}


def test_a_stock_list_run_and_an_etf_list_run_are_apart(api):
    stock = api.post(STOCK_LISTS)
    etf = api.post("/api/sync/etf/lists")

    assert stock.status_code == etf.status_code == 202
    assert stock.json()["id"] != etf.json()["id"]


def test_a_stock_price_sync_from_a_start_year_with_codes(api):
    make_security("600000", is_etf=False, board="main")
    make_security("000001", "XSHE", is_etf=False, board="main")

    response = api.post(STOCK_PRICES, {"start_year": 2020, "codes": ["600000", "000001"]})

    assert response.status_code == 202, response.json()
    run = SyncRun.objects.get(pk=response.json()["id"])
    assert run.kind == "stock_prices"
    assert run.parameters == {"start_year": 2020, "codes": ["000001", "600000"]}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"codes": ["510300"]}, "codes", "unknown"),  # an ETF is no stock
        ({"codes": ["60000"]}, "codes", ""),
        ({"start_year": 2020, "full": True}, "full", "cannot be combined"),
        ({"start_year": 1800}, "start_year", ""),
        ({"exchange": "XSHG"}, "exchange", ""),
    ],
)
def test_bad_stock_price_requests_are_refused_and_nothing_is_queued(api, body, field, message):
    make_security("510300")

    response = api.post(STOCK_PRICES, body)

    assert response.status_code == 400
    error = response.json()
    assert error["error"] == "invalid" and error["field"] == field
    assert message in error["message"]
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("path", [STOCK_LISTS, STOCK_PRICES])
def test_no_token_is_401_and_a_viewer_is_403(client, path):
    assert Api(client, None).post(path).status_code == 401
    viewer = make_staff_user("viewer", "etfs.view_syncrun")
    _, secret = make_token(viewer)

    response = Api(client, secret).post(path)

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_the_generated_document_has_both_stock_endpoints(client):
    document = client.get("/api/openapi.json").json()

    for path in (STOCK_LISTS, STOCK_PRICES):
        operation = document["paths"][path]["post"]
        assert {"202", "200", "400", "401", "403", "413"} <= set(operation["responses"])
        assert operation["security"]
