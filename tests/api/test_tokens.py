"""API tokens through the admin: made by the add form, shown once, used, revoked, refused."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.contrib.auth.models import User

from etfs.models import ApiToken, SyncRun
from tests.factories import make_staff_user

from .conftest import SYNC_AND_VIEW, Api, make_token

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/etfs/apitoken/add/"
LIST_URL = "/admin/etfs/apitoken/"
SHOWN_TOKEN = re.compile(r"<code>([A-Za-z0-9_-]{43})</code>")


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", password="unused"))
    return client


def add_token(client, owner: User, name: str = "nightly cron", **fields):
    form = {"name": name, "owner": owner.pk, "expires_at_0": "", "expires_at_1": "", **fields}
    return client.post(ADD_URL, form, follow=True)


def test_round_trip_create_in_admin_use_revoke_refused(admin_client, client):
    robot = make_staff_user("robot", *SYNC_AND_VIEW)

    response = add_token(admin_client, robot)

    assert response.status_code == 200
    content = response.content.decode()
    [secret] = SHOWN_TOKEN.findall(content)
    assert "will not be shown again" in content
    token = ApiToken.objects.get()
    assert (token.name, token.owner, token.state) == ("nightly cron", robot, "active")
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:8]
    assert secret not in str(ApiToken.objects.values().get())

    # The API, without the admin's session: a client of its own.
    api = Api(client.__class__(), secret)
    queued = api.post("/api/sync/etf/lists", {"exchange_codes": ["XSHG"]})
    assert queued.status_code == 202
    assert SyncRun.objects.get().requested_by == robot
    token.refresh_from_db()
    assert token.last_used_at is not None

    # The change page never shows the secret again; the list shows the prefix.
    change = admin_client.get(f"{LIST_URL}{token.pk}/change/").content.decode()
    assert secret not in change
    listing = admin_client.get(LIST_URL).content.decode()
    assert f"{secret[:8]}…" in listing and secret not in listing

    revoked = admin_client.post(
        LIST_URL, {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert "Revoked 1 token(s)" in revoked.content.decode()
    token.refresh_from_db()
    assert token.state == "revoked"

    refused = api.get(f"/api/sync/runs/{queued.json()['id']}")
    assert refused.status_code == 401
    assert refused.json()["message"] == "the token has been revoked"


def test_the_secret_is_shown_once_only(admin_client):
    first = add_token(admin_client, make_staff_user("robot"))
    [secret] = SHOWN_TOKEN.findall(first.content.decode())

    again = admin_client.get(LIST_URL)

    assert secret not in again.content.decode()


def test_a_deleted_token_is_refused(admin_client, client):
    robot = make_staff_user("robot", *SYNC_AND_VIEW)
    [secret] = SHOWN_TOKEN.findall(add_token(admin_client, robot).content.decode())
    token = ApiToken.objects.get()

    admin_client.post(f"{LIST_URL}{token.pk}/delete/", {"post": "yes"})

    assert not ApiToken.objects.exists()
    assert Api(client.__class__(), secret).get("/api/sync/runs").status_code == 401


def test_an_expiry_can_be_set_and_is_honoured(admin_client, client):
    robot = make_staff_user("robot", *SYNC_AND_VIEW)

    response = add_token(admin_client, robot, expires_at_0="2001-01-01", expires_at_1="00:00:00")

    [secret] = SHOWN_TOKEN.findall(response.content.decode())
    assert ApiToken.objects.get().state == "expired"
    refused = Api(client.__class__(), secret).post("/api/sync/etf/lists")
    assert refused.status_code == 401
    assert refused.json()["message"] == "the token has expired"


class TestWhoMayMakeTokens:
    """A token acts with its owner's permissions, so staff make tokens only for themselves."""

    @pytest.fixture
    def staff_client(self, client):
        staff = make_staff_user(
            "staff", "etfs.add_apitoken", "etfs.change_apitoken", "etfs.view_apitoken"
        )
        client.force_login(staff)
        client.user = staff
        return client

    def test_staff_cannot_make_a_token_for_someone_else(self, staff_client):
        boss = User.objects.create_superuser("boss", password="unused")

        response = add_token(staff_client, boss)

        assert not ApiToken.objects.exists()
        assert "Select a valid choice" in response.content.decode()

    def test_staff_can_make_their_own_and_see_only_theirs(self, staff_client):
        other, _ = make_token(make_staff_user("other"), name="someone else's")

        response = add_token(staff_client, staff_client.user, name="mine")

        assert len(SHOWN_TOKEN.findall(response.content.decode())) == 1
        assert ApiToken.objects.get(name="mine").owner == staff_client.user
        listing = staff_client.get(LIST_URL).content.decode()
        assert "mine" in listing and "someone else" not in listing
        assert staff_client.get(f"{LIST_URL}{other.pk}/change/").status_code == 302

    def test_the_owner_defaults_to_the_user_making_it(self, staff_client):
        form = staff_client.get(ADD_URL).content.decode()

        assert re.search(rf'<option value="{staff_client.user.pk}" selected>', form)


class TestAMadeTokenIsFixed:
    """Expiry and owner are fixed once a token is made; only a superuser changes the expiry."""

    @pytest.fixture
    def owner_client(self, client):
        owner = make_staff_user(
            "owner", "etfs.add_apitoken", "etfs.change_apitoken", "etfs.view_apitoken"
        )
        client.force_login(owner)
        client.user = owner
        return client

    def expired_token(self, owner):
        token, _ = make_token(owner, name="old")
        token.expires_at = "2001-01-01T00:00:00Z"
        token.save()
        token.refresh_from_db()
        return token

    def test_an_owner_cannot_revive_an_expired_token(self, owner_client):
        token = self.expired_token(owner_client.user)
        url = f"{LIST_URL}{token.pk}/change/"
        boss = User.objects.create_superuser("boss", password="unused")

        form = owner_client.get(url).content.decode()
        response = owner_client.post(
            url,
            {"name": "old", "owner": boss.pk, "expires_at_0": "", "expires_at_1": ""},
        )

        assert 'name="expires_at_0"' not in form
        assert response.status_code == 302
        token.refresh_from_db()
        assert token.state == "expired" and token.owner == owner_client.user

    def test_a_superuser_may_change_the_expiry(self, admin_client):
        token = self.expired_token(make_staff_user("robot"))
        url = f"{LIST_URL}{token.pk}/change/"

        admin_client.post(url, {"name": "old", "expires_at_0": "", "expires_at_1": ""})

        token.refresh_from_db()
        assert token.expires_at is None and token.state == "active"


class TestTokenCommand:
    """manage.py api_token: create (the secret printed once), list, revoke."""

    def run(self, *args) -> str:
        import io

        from django.core.management import call_command

        out = io.StringIO()
        call_command("api_token", *args, stdout=out)
        return out.getvalue()

    def test_a_created_token_works_once_shown_and_stops_when_revoked(self, client, syncer):
        output = self.run("create", syncer.username, "nightly cron", "--expires-in-days", "30")
        secret = output.splitlines()[-1]
        token = ApiToken.objects.get()
        works = client.get("/api/sync/runs", headers={"Authorization": f"Bearer {secret}"})

        listed = self.run("list")
        revoked = self.run("revoke", token.prefix)
        refused = client.get("/api/sync/runs", headers={"Authorization": f"Bearer {secret}"})

        assert token.token_hash == ApiToken.hash_secret(secret) and secret not in listed
        assert token.expires_at is not None
        assert works.status_code == 200
        assert f"#{token.pk} {token.prefix}… 'nightly cron' of {syncer.username}: active" in listed
        assert revoked.startswith(f"revoked token #{token.pk}")
        assert refused.status_code == 401

    def test_an_unknown_user_or_token_is_an_error(self, syncer):
        from django.core.management import CommandError

        with pytest.raises(CommandError, match="there is no user 'ghost'"):
            self.run("create", "ghost", "x")
        with pytest.raises(CommandError, match="there is no token 'nope'"):
            self.run("revoke", "nope")
