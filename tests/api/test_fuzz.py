"""No request body, query or run id makes the API fail: generated inputs get 2xx, 400 or 404.

The Django test client re-raises a view's exception, so a crash fails the example rather than
hiding in a 500. Bodies mix the real fields with well-formed and nonsense values, so the
generated requests reach every check of the validation, not only the JSON parser.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django_q.models import OrmQ
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from etfs.models import SyncRun
from tests.factories import make_security

from .conftest import Checker

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    database=None,  # no .hypothesis folder in the work tree
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
days = st.dates(dt.date(1985, 1, 1), dt.date(2035, 12, 31)).map(dt.date.isoformat)
codes = st.sampled_from(
    ["510300", "159915", "999999", "51030", "5103000", "５１０３００"]
) | st.text("0123456789", min_size=6, max_size=6)
exchanges = st.sampled_from(["XSHG", "XSHE", "xshg", "XNYS", "", "ß"]) | st.text(max_size=5)


NAMED_FIELDS = {"", "body", "exchange_codes", "start_year", "start", "end", "codes", "full"}


def request_bodies(fields: dict):
    """Mostly objects of the real fields (some with unknown ones too), sometimes any JSON."""
    objects = st.fixed_dictionaries({}, optional=fields)
    unknown = st.dictionaries(st.text(min_size=1, max_size=10), json_values, min_size=1, max_size=2)
    with_unknown = st.tuples(objects, unknown).map(lambda pair: {**pair[1], **pair[0]})
    return st.one_of(objects, objects, objects, with_unknown, json_values)


list_bodies = request_bodies({"exchange_codes": st.lists(exchanges, max_size=4) | json_values})
price_bodies = request_bodies(
    {
        "start_year": st.integers(1980, 2040) | json_values,
        "start": days | json_values,
        "end": days | json_values,
        "codes": st.lists(codes, max_size=4) | json_values,
        "full": st.booleans() | json_values,
    }
)


@pytest.fixture
def check(document) -> Checker:
    return Checker(document)


@pytest.fixture
def known_etfs(db) -> None:
    """Two of the codes the bodies use exist, so valid code lists get through."""
    make_security("510300")
    make_security("159915", "XSHE")


def post_and_check(api, check: Checker, path: str, raw: bytes | str, *, is_json: bool = True):
    runs, tasks = SyncRun.objects.count(), OrmQ.objects.count()

    response = api.post(path, raw=raw)

    assert response.status_code in (200, 202, 400), response.content
    # The API reads a blank body as {}, which a strict JSON reader of the request would not.
    check(response, response.status_code, accepted_request_is_valid=is_json)
    field = response.json().get("field", "")
    event(f"{response.status_code} {field if field in NAMED_FIELDS else 'an unknown field'}")
    if response.status_code == 400:
        assert isinstance(response.json()["field"], str)
        assert (SyncRun.objects.count(), OrmQ.objects.count()) == (runs, tasks)
    return response


@FUZZ
@given(body=list_bodies)
def test_list_sync_bodies(api, check, body):
    post_and_check(api, check, "/api/sync/etf/lists", json.dumps(body))


@FUZZ
@given(body=price_bodies)
def test_price_sync_bodies(api, check, known_etfs, body):
    post_and_check(api, check, "/api/sync/etf/prices", json.dumps(body))


@FUZZ
@given(
    raw=st.binary(max_size=200) | st.text(max_size=200), path=st.sampled_from(["lists", "prices"])
)
def test_raw_bodies(api, check, raw, path):
    post_and_check(api, check, f"/api/sync/etf/{path}", raw, is_json=False)


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["kind", "status", "page", "page_size"]) | st.text(max_size=6),
        st.text(max_size=12) | st.integers(-5, 10**12).map(str),
        max_size=3,
    )
)
def test_run_list_queries(api, check, query):
    response = api.get("/api/sync/runs", **query)

    assert response.status_code in (200, 400), response.content
    check(response, response.status_code)


@FUZZ
@given(
    run_id=st.integers(0, 10**40),
    query=st.dictionaries(
        st.sampled_from(["page", "page_size"]), st.integers(-3, 10**10).map(str), max_size=2
    ),
)
def test_run_ids_and_pages(api, check, run_id, query):
    response = api.get(f"/api/sync/runs/{run_id}", **query)

    assert response.status_code in (200, 400, 404), response.content
    check(response, response.status_code)


@FUZZ
@given(
    segment=st.text(st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=20)
)
def test_run_paths_that_are_not_ids(api, segment):
    response = api.client.get(f"/api/sync/runs/{segment}", headers=api.headers)

    assert response.status_code in (200, 301, 404)
