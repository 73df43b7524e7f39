"""Builders for API tests: users with permissions, tokens, and authenticated requests."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_schema_validator import OAS31Validator

from etfs.models import ApiToken
from tests.factories import make_staff_user

SYNC_AND_VIEW = ("etfs.run_sync", "etfs.view_syncrun", "etfs.view_stockinfo")


def make_token(owner: User, **fields) -> tuple[ApiToken, str]:
    """A saved token of ``owner`` and its secret."""
    token = ApiToken(name=fields.pop("name", "test"), owner=owner, **fields)
    secret = token.set_new_secret()
    token.save()
    return token, secret


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


class Api:
    """The Django test client, speaking JSON with one token."""

    def __init__(self, client, secret: str | None):
        self.client = client
        self.secret = secret

    @property
    def headers(self) -> dict:
        return bearer(self.secret) if self.secret else {}

    def get(self, path: str, /, **query):
        return self.client.get(path, query, headers=self.headers)

    def post(self, path: str, body: object = None, *, raw: bytes | str | None = None):
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        return self.client.post(path, data, content_type="application/json", headers=self.headers)

    def request(self, method: str, path: str):
        return getattr(self.client, method.lower())(path, headers=self.headers)


@pytest.fixture
def syncer(db) -> User:
    """A user who may start syncs and read runs and securities."""
    return make_staff_user("syncer", *SYNC_AND_VIEW)


@pytest.fixture
def api(client, syncer) -> Api:
    _, secret = make_token(syncer)
    return Api(client, secret)


@pytest.fixture
def api_as(client, db):
    """An Api for a new user holding ``permissions`` (none by default)."""

    def build(*permissions: str, username: str = "someone") -> Api:
        _, secret = make_token(make_staff_user(username, *permissions))
        return Api(client, secret)

    return build


@pytest.fixture
def document(client) -> dict:
    """The OpenAPI document as served."""
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


class Checker:
    """Validates each response against the document and notes which responses were seen."""

    def __init__(self, document: dict):
        self.spec = OpenAPI.from_dict(document)
        self.error_schema = document["components"]["schemas"]["Error"]
        self.seen: set[tuple[str, str, str]] = set()

    def __call__(self, response, status: int, *, accepted_request_is_valid: bool = True):
        """Check the response; and a request the API accepted must be valid by the document."""
        assert response.status_code == status, response.content
        request = DjangoOpenAPIRequest(response.wsgi_request)
        self.spec.validate_response(request, DjangoOpenAPIResponse(response))
        if accepted_request_is_valid and status < 300:
            self.spec.validate_request(request)
        self.seen.add((request.path_pattern, request.method, str(status)))
        return response

    def undocumented_error(self, response, status: int):
        """405 and unknown paths are no operation of the document; their body is its Error."""
        assert response.status_code == status
        OAS31Validator(self.error_schema).validate(response.json())
