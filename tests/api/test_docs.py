"""The interactive docs at /api/docs: staff only, and off with ETFSYNC_API_DOCS=false."""

import pytest
from django.contrib.auth.models import User

from tests.factories import make_staff_user

pytestmark = pytest.mark.django_db

DOCS = "/api/docs"


def test_staff_see_the_docs_page_of_the_generated_document(client):
    client.force_login(make_staff_user("staff"))

    response = client.get(DOCS)

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "/api/openapi.json" in page
    # The scripts are served from this site, not from a CDN the server may not reach.
    assert "/static/ninja/swagger-ui-bundle.js" in page


@pytest.mark.parametrize("who", ["anonymous", "not staff"])
def test_anyone_else_is_sent_to_the_admin_login(client, who):
    if who == "not staff":
        client.force_login(User.objects.create_user("visitor", password="unused"))

    response = client.get(DOCS)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/api/docs")


def test_the_setting_turns_the_page_off(client, settings):
    settings.ETFSYNC_API_DOCS = False
    client.force_login(make_staff_user("staff"))

    response = client.get(DOCS)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_document_stays_public_without_a_login(client):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    assert {"/api/sync/etf/lists", "/api/sync/etf/prices"} <= set(response.json()["paths"])
