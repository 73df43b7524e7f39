"""The JSON API through real requests: every status code, coalescing, pagination, permissions."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ

from etfs.models import Exchange, SyncKind, SyncRun, SyncRunError, SyncTrigger
from etfs.sync.calendar import shanghai_now
from etfs.tasks import enqueue_sync
from tests.factories import make_run, make_run_error, make_security, make_staff_user

from .conftest import SYNC_AND_VIEW, Api, make_token

pytestmark = pytest.mark.django_db

LISTS = "/api/sync/etf/lists"
PRICES = "/api/sync/etf/prices"
RUNS = "/api/sync/runs"
SUMMARY = "/api/etfs/summary"


def run_url(run_id: int) -> str:
    return f"{RUNS}/{run_id}"


class TestQueueing:
    def test_a_list_sync_is_queued_for_both_exchanges_by_default(self, api, syncer):
        response = api.post(LISTS)

        assert response.status_code == 202
        body = response.json()
        run = SyncRun.objects.get()
        assert body["id"] == run.pk
        assert body["status"] == "queued"
        assert body["already_in_progress"] is False
        assert body["url"] == f"http://testserver{run_url(run.pk)}"
        assert response["Location"] == body["url"]
        assert (run.kind, run.trigger, run.requested_by) == ("etf_lists", "api", syncer)
        # No parameters means both exchanges, as the admin button and the schedule ask for.
        assert run.parameters == {}
        assert run.task_id and OrmQ.objects.count() == 1

    def test_both_exchanges_named_is_the_same_run_as_the_default(self, api):
        first = api.post(LISTS, {"exchange_codes": ["XSHG", "XSHE"]})
        second = api.post(LISTS, {})

        assert first.status_code == 202
        assert second.status_code == 200
        assert second.json()["id"] == first.json()["id"]

    def test_one_exchange_case_insensitively(self, api):
        response = api.post(LISTS, {"exchange_codes": ["xshg"]})

        assert response.status_code == 202
        assert SyncRun.objects.get().parameters == {"exchanges": ["XSHG"]}

    def test_the_curl_form_without_a_content_type_is_read_as_json(self, client, api):
        # curl -d sends application/x-www-form-urlencoded unless told otherwise.
        response = client.post(
            LISTS,
            '{"exchange_codes":["XSHG"]}',
            content_type="application/x-www-form-urlencoded",
            headers=api.headers,
        )

        assert response.status_code == 202
        assert SyncRun.objects.get().parameters == {"exchanges": ["XSHG"]}

    def test_a_price_sync_from_a_start_year(self, api):
        response = api.post(PRICES, {"start_year": 2020})

        assert response.status_code == 202
        run = SyncRun.objects.get()
        assert (run.kind, run.trigger) == ("etf_prices", "api")
        assert run.parameters == {"start_year": 2020}
        assert response.json()["parameters"] == {"start_year": 2020}

    def test_a_price_sync_of_some_codes_over_a_window(self, api):
        make_security("510300")
        make_security("159915", Exchange.XSHE)

        response = api.post(
            PRICES, {"start": "2024-01-01", "end": "2024-06-30", "codes": ["510300", "159915"]}
        )

        assert response.status_code == 202
        assert SyncRun.objects.get().parameters == {
            "codes": ["159915", "510300"],
            "start": "2024-01-01",
            "end": "2024-06-30",
        }

    def test_a_delisted_etf_can_still_be_asked_for(self, api):
        make_security("510300", status="delisted")

        assert api.post(PRICES, {"codes": ["510300"]}).status_code == 202

    def test_null_fields_count_as_omitted(self, api):
        lists = api.post(LISTS, {"exchange_codes": None})
        prices = api.post(PRICES, {"start_year": None, "start": None, "codes": None, "full": None})

        assert (lists.status_code, prices.status_code) == (202, 202)
        assert [run.parameters for run in SyncRun.objects.order_by("id")] == [{}, {}]

    def test_csrf_does_not_apply_to_token_requests(self, api):
        strict = Api(Client(enforce_csrf_checks=True), api.secret)

        assert strict.post(LISTS).status_code == 202


class TestCoalescing:
    def test_a_second_trigger_returns_the_queued_run(self, api):
        first = api.post(LISTS, {"exchange_codes": ["XSHE"]})
        second = api.post(LISTS, {"exchange_codes": ["XSHE"]})

        assert (first.status_code, second.status_code) == (202, 200)
        assert second.json()["id"] == first.json()["id"]
        assert second.json()["already_in_progress"] is True
        assert "Location" not in second
        assert SyncRun.objects.count() == 1
        assert OrmQ.objects.count() == 1

    def test_a_run_started_through_another_door_is_joined(self, api):
        admin_run, _ = enqueue_sync(SyncKind.ETF_LISTS, SyncTrigger.ADMIN, {})
        command_run, _ = enqueue_sync(
            SyncKind.ETF_PRICES, SyncTrigger.COMMAND, {"codes": [], "full": True}
        )

        lists = api.post(LISTS, {"exchange_codes": ["XSHE", "XSHG"]})
        prices = api.post(PRICES, {"full": True})

        assert (lists.status_code, lists.json()["id"]) == (200, admin_run.pk)
        assert lists.json()["trigger"] == "admin"
        assert (prices.status_code, prices.json()["id"]) == (200, command_run.pk)

    def test_a_running_run_of_the_same_scope_is_returned(self, api):
        running = make_run("etf_prices", status="running", scope="etf_prices")

        response = api.post(PRICES, {})

        assert response.status_code == 200
        assert response.json()["id"] == running.pk
        assert response.json()["status"] == "running"
        assert OrmQ.objects.count() == 0

    def test_a_different_scope_is_a_new_run(self, api):
        make_security("510300")
        api.post(PRICES)

        response = api.post(PRICES, {"codes": ["510300"]})

        assert response.status_code == 202
        assert SyncRun.objects.count() == 2

    def test_a_finished_run_does_not_block_a_new_one(self, api):
        make_run("etf_lists", status="succeeded", scope="etf_lists")

        assert api.post(LISTS).status_code == 202


def this_year() -> int:
    return shanghai_now().year


BAD_LIST_REQUESTS = [
    ({"exchange_codes": ["XNYS"]}, "exchange_codes", "unknown exchange XNYS"),
    ({"exchange_codes": "XSHG"}, "exchange_codes", "must be a list"),
    ({"exchange_codes": [1]}, "exchange_codes", "must be a list"),
    ({"exchange_codes": []}, "exchange_codes", "must not be empty"),
    ({"exchange": ["XSHG"]}, "exchange", "unknown field"),
    (["XSHG"], "body", "must be a JSON object"),
    (None, "body", "must be a JSON object"),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD_LIST_REQUESTS)
def test_bad_list_requests_are_refused_and_nothing_is_queued(api, body, field, message):
    response = api.post(LISTS, raw=json.dumps(body))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert response.json()["field"] == field
    assert message in response.json()["message"]
    assert SyncRun.objects.count() == 0
    assert OrmQ.objects.count() == 0


def bad_price_requests():
    future = (shanghai_now().date() + dt.timedelta(days=2)).isoformat()
    return [
        ({"start": "2024-06-30", "end": "2024-01-01"}, "start", "is after end 2024-01-01"),
        ({"start_year": 1989}, "start_year", "from 1990 to"),
        ({"start_year": this_year() + 1}, "start_year", "from 1990 to"),
        ({"start_year": "2020"}, "start_year", "must be an integer"),
        ({"start_year": True}, "start_year", "must be an integer"),
        ({"start_year": 2020.5}, "start_year", "must be an integer"),
        ({"start": "2024/01/01"}, "start", "YYYY-MM-DD"),
        ({"start": "2024-02-30"}, "start", "not a calendar date"),
        ({"end": future}, "end", "to today"),
        ({"start": "1989-12-31"}, "start", "from 1990-01-01"),
        ({"codes": ["999999"]}, "codes", "unknown ETF code(s): '999999'"),
        ({"codes": ["51030"]}, "codes", "six ASCII digits"),
        ({"codes": "510300"}, "codes", "must be a list"),
        ({"codes": []}, "codes", "must not be empty"),
        ({"full": "yes"}, "full", "true or false"),
        ({"start_year": 2020, "start": "2024-01-01"}, "start", "cannot be combined"),
        ({"full": True, "start_year": 2020}, "full", "cannot be combined with start_year"),
        ({"start_year": 2020, "adjust": "qfq"}, "adjust", "unknown field"),
    ]


@pytest.mark.parametrize(("body", "field", "message"), bad_price_requests())
def test_bad_price_requests_are_refused_and_nothing_is_queued(api, body, field, message):
    make_security("510300")

    response = api.post(PRICES, body)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert message in response.json()["message"]
    assert SyncRun.objects.count() == 0
    assert OrmQ.objects.count() == 0


@pytest.mark.parametrize(
    "raw", ['{"start_year": ', "{'start_year': 2020}", '{"start_year": NaN}', b"\xff\xfe\x00"]
)
def test_malformed_json_is_refused(api, raw):
    response = api.post(PRICES, raw=raw)

    assert response.status_code == 400
    assert response.json()["field"] == "body"
    assert "is not valid JSON" in response.json()["message"]
    assert SyncRun.objects.count() == 0


def test_deeply_nested_json_is_refused_not_crashed(api):
    response = api.post(LISTS, raw="[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert response.json()["field"] == "body"


def test_a_body_over_the_size_limit_is_refused(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api.post(PRICES, {"codes": ["510300"] * 500})

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert SyncRun.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", LISTS, "POST"),
        ("PUT", PRICES, "POST"),
        ("POST", RUNS, "GET"),
        ("DELETE", run_url(1), "GET"),
        ("POST", SUMMARY, "GET"),
        ("POST", "/api/openapi.json", "GET"),
    ],
)
def test_a_wrong_method_is_405(api, method, path, allowed):
    response = api.request(method, path)

    assert response.status_code == 405
    assert response["Allow"] == allowed
    assert response.json()["error"] == "method_not_allowed"
    assert SyncRun.objects.count() == 0


class TestNotFound:
    def test_an_unknown_run(self, api):
        response = api.get(run_url(12345))

        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "message": "there is no run #12345"}

    def test_an_id_beyond_any_database_integer(self, api):
        assert api.get(run_url(10**30)).status_code == 404

    def test_an_unknown_api_path_answers_in_json(self, api):
        response = api.get("/api/sync/nothing")

        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


class TestAuthentication:
    @pytest.mark.parametrize("path", [LISTS, PRICES])
    def test_no_token_is_401_on_post(self, client, path):
        response = client.post(path, "{}", content_type="application/json")

        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in response.json()["message"]
        assert SyncRun.objects.count() == 0

    @pytest.mark.parametrize("path", [RUNS, run_url(1), SUMMARY])
    def test_no_token_is_401_on_get(self, client, path):
        assert client.get(path).status_code == 401

    @pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Token {secret}", "{secret}"])
    def test_a_bad_token_or_scheme_is_401(self, client, api, header):
        response = client.post(
            LISTS,
            "{}",
            content_type="application/json",
            headers={"Authorization": header.format(secret=api.secret)},
        )

        assert response.status_code == 401
        assert SyncRun.objects.count() == 0

    def test_the_scheme_is_case_insensitive(self, client, api):
        headers = {"Authorization": f"bearer {api.secret}"}

        assert client.get(RUNS, headers=headers).status_code == 200

    def test_a_logged_in_admin_session_is_not_enough(self, client):
        client.force_login(make_superuser())

        assert client.post(LISTS).status_code == 401

    def test_an_expired_token_is_401(self, client, syncer):
        _, secret = make_token(syncer, expires_at=timezone.now() - dt.timedelta(seconds=1))

        response = Api(client, secret).post(LISTS)

        assert response.status_code == 401
        assert response.json()["message"] == "the token has expired"

    def test_a_token_that_expires_later_works(self, client, syncer):
        _, secret = make_token(syncer, expires_at=timezone.now() + dt.timedelta(days=1))

        assert Api(client, secret).post(LISTS).status_code == 202

    def test_a_revoked_token_is_401(self, client, syncer):
        token, secret = make_token(syncer)
        token.revoked_at = timezone.now()
        token.save()

        response = Api(client, secret).get(RUNS)

        assert response.status_code == 401
        assert response.json()["message"] == "the token has been revoked"

    def test_an_inactive_owner_is_401(self, api, syncer):
        syncer.is_active = False
        syncer.save()

        assert api.post(LISTS).status_code == 401

    def test_use_is_recorded(self, client, syncer):
        token, secret = make_token(syncer)
        assert token.last_used_at is None

        Api(client, secret).get(RUNS)

        token.refresh_from_db()
        assert token.last_used_at is not None


def make_superuser():
    return User.objects.create_superuser("root", password="unused")


class TestPermissions:
    """POSTs need etfs.run_sync; run GETs need etfs.view_syncrun or etfs.run_sync."""

    @pytest.mark.parametrize("path", [LISTS, PRICES])
    def test_starting_a_sync_needs_run_sync(self, api_as, path):
        api = api_as("etfs.view_syncrun", "etfs.view_stockinfo")

        response = api.post(path)

        assert response.status_code == 403
        assert response.json() == {
            "error": "forbidden",
            "message": "the token's owner needs etfs.run_sync",
        }
        assert SyncRun.objects.count() == 0

    def test_run_sync_alone_may_start_and_watch_runs(self, api_as):
        api = api_as("etfs.run_sync")

        response = api.post(LISTS)

        assert response.status_code == 202
        assert api.get(run_url(response.json()["id"])).status_code == 200
        assert api.get(RUNS).status_code == 200
        assert api.get(SUMMARY).status_code == 403

    def test_view_syncrun_may_read_runs(self, api_as):
        run = make_run()
        api = api_as("etfs.view_syncrun")

        assert api.get(RUNS).status_code == 200
        assert api.get(run_url(run.pk)).status_code == 200

    @pytest.mark.parametrize("path", [RUNS, run_url(1), SUMMARY])
    def test_no_permission_reads_nothing(self, api_as, path):
        make_run(id=1)

        response = api_as().get(path)

        assert response.status_code == 403

    def test_the_summary_needs_view_stockinfo(self, api_as):
        assert api_as("etfs.view_stockinfo").get(SUMMARY).status_code == 200

    def test_a_superuser_may_do_everything(self, client):
        _, secret = make_token(make_superuser())
        api = Api(client, secret)

        assert api.post(LISTS).status_code == 202
        assert api.get(RUNS).status_code == 200
        assert api.get(SUMMARY).status_code == 200

    def test_permissions_come_from_the_owner_now_not_when_the_token_was_made(self, api, syncer):
        syncer.user_permissions.clear()

        assert api.post(LISTS).status_code == 403


class TestRunDetail:
    def test_status_counters_times_and_errors(self, api):
        run = make_run(
            "etf_prices",
            status="partial",
            items_total=3,
            items_done=3,
            items_failed=1,
            rows_fetched=120,
            rows_created=100,
            error_summary="1 of 3 ETF(s) failed, first: 510300: timeout",
        )
        make_run_error(run, "timeout", code="510300", detail="<html>")

        response = api.get(run_url(run.pk))

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "partial"
        assert body["counters"]["items_failed"] == 1
        assert body["counters"]["rows_created"] == 100
        assert body["error_summary"].startswith("1 of 3 ETF(s) failed")
        assert body["duration_seconds"] == pytest.approx(3, abs=0.5)
        assert body["finished_at"].endswith("Z")
        [error] = body["errors"]["results"]
        assert error["code"] == "510300"
        assert error["message"] == "timeout"
        assert error["severity"] == "error"
        assert body["errors"]["count"] == 1
        assert body["errors"]["next"] is None

    def test_errors_are_paginated(self, api):
        run = make_run(status="failed")
        for number in range(5):
            make_run_error(run, f"problem {number}", severity=SyncRunError.Severity.WARNING)

        first = api.get(run_url(run.pk), page_size=2).json()["errors"]
        last = api.get(run_url(run.pk), page=3, page_size=2).json()["errors"]

        assert first["count"] == 5
        assert [error["message"] for error in first["results"]] == ["problem 0", "problem 1"]
        assert first["next"].endswith(f"{run_url(run.pk)}?page_size=2&page=2")
        assert first["previous"] is None
        assert [error["message"] for error in last["results"]] == ["problem 4"]
        assert last["next"] is None
        assert "page=2" in last["previous"]

    def test_a_page_past_the_end_is_empty(self, api):
        run = make_run()

        errors = api.get(run_url(run.pk), page=7).json()["errors"]

        assert errors["results"] == [] and errors["count"] == 0

    @pytest.mark.parametrize("page", ["+2", "2_0", " 2", "２", "1" * 5000])
    def test_a_page_is_written_in_ascii_digits(self, api, page):
        run = make_run()

        response = api.get(run_url(run.pk), page=page)

        assert response.status_code == 400
        assert response.json()["message"] == "must be a whole number from 1 to 1000000"

    @pytest.mark.parametrize(
        ("query", "field"),
        [({"page": "0"}, "page"), ({"page_size": "501"}, "page_size"), ({"sort": "id"}, "sort")],
    )
    def test_bad_query_fields_are_400(self, api, query, field):
        run = make_run()

        response = api.get(run_url(run.pk), **query)

        assert response.status_code == 400
        assert response.json()["field"] == field

    def test_the_run_queued_through_the_api_can_be_polled(self, api, syncer):
        queued = api.post(LISTS).json()

        polled = api.get(queued["url"].removeprefix("http://testserver")).json()

        assert polled["id"] == queued["id"]
        assert polled["status"] == "queued"
        assert polled["trigger"] == "api"
        assert polled["requested_by"] == syncer.username
        assert polled["started_at"] is None and polled["duration_seconds"] is None


class TestRunList:
    def test_recent_top_level_runs_newest_first(self, api):
        older = make_run("etf_lists", queued_at=timezone.now() - dt.timedelta(hours=1))
        newer = make_run("etf_prices", status="failed", scope="etf_prices")
        make_run("etf_prices", parent=newer, scope="")  # a chunk: shown through its parent

        body = api.get(RUNS).json()

        assert [run["id"] for run in body["results"]] == [newer.pk, older.pk]
        assert body["count"] == 2

    def test_filters(self, api):
        lists = make_run("etf_lists")
        failed = make_run("etf_prices", status="failed")
        make_run("etf_prices", status="succeeded")

        def ids(**query):
            return [run["id"] for run in api.get(RUNS, **query).json()["results"]]

        assert ids(kind="etf_lists") == [lists.pk]
        assert ids(kind="etf_prices", status="failed") == [failed.pk]
        assert ids(status="running") == []

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"kind": "stocks"}, "kind"),
            ({"kind": ""}, "kind"),
            ({"status": "done"}, "status"),
            ({"page_size": "101"}, "page_size"),
            ({"page": "x"}, "page"),
            ({"state": "failed"}, "state"),
        ],
    )
    def test_bad_filters_are_400(self, api, query, field):
        response = api.get(RUNS, **query)

        assert response.status_code == 400
        assert response.json()["field"] == field

    def test_pages(self, api):
        for _ in range(3):
            make_run()

        body = api.get(RUNS, page_size=2).json()

        assert len(body["results"]) == 2
        assert body["next"].endswith("page=2")


def test_the_etf_summary_counts_listed_etfs_by_exchange(api):
    make_security("510300")
    make_security("510500")
    make_security("159915", Exchange.XSHE)
    make_security("510050", status="delisted")
    make_security("600000", is_etf=False)

    response = api.get(SUMMARY)

    assert response.status_code == 200
    assert response.json() == {"etf_count_by_exchange": {"XSHG": 2, "XSHE": 1}, "etf_count": 3}


class TestSecrecy:
    def test_a_header_of_another_scheme_is_not_logged_in_debug(self, client, settings, caplog):
        """ninja's own bearer check logs such a header, secret and all, when DEBUG is on."""
        settings.DEBUG = True
        _, secret = make_token(make_staff_user("robot", *SYNC_AND_VIEW))
        caplog.set_level(logging.DEBUG)

        response = client.get(RUNS, headers={"Authorization": f"Token {secret}"})

        assert response.status_code == 401
        assert "Authorization: Bearer" in response.json()["message"]
        assert secret not in caplog.text

    def test_the_token_appears_in_no_log_and_no_run_record(self, client, caplog):
        owner = make_staff_user("robot", *SYNC_AND_VIEW)
        token, secret = make_token(owner)
        api = Api(client, secret)
        caplog.set_level(logging.DEBUG)
        caplog.set_level(logging.DEBUG, logger="etfs")

        run_id = api.post(LISTS).json()["id"]
        api.get(run_url(run_id))
        Api(client, secret + "x").post(LISTS)  # a refused one is logged by django.request

        assert "queued run" in caplog.text  # the API does log, just not the token
        assert secret not in caplog.text
        assert secret[:20] not in caplog.text
        run = SyncRun.objects.values().get(pk=run_id)
        assert all(secret not in str(value) for value in run.values())
        stored = token.__class__.objects.values().get(pk=token.pk)
        assert all(secret not in str(value) for value in stored.values())


class TestEchoedInput:
    """Input quoted back in a 400 is cut short: the answer does not grow with the request."""

    HUGE = "x" * 2_400_000

    def test_an_unknown_field_name_of_megabytes(self, api):
        response = api.post(PRICES, {self.HUGE: 1})

        assert response.status_code == 400
        assert len(response.content) < 300
        body = response.json()
        assert body["field"] == "x" * 40 + "…"
        assert body["message"] == f"unknown field {'x' * 40 + '…'!r}"

    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            (LISTS, {"exchange_codes": ["XSHG", HUGE]}, "exchange_codes"),
            (PRICES, {"codes": ["510300", HUGE]}, "codes"),
            (PRICES, {"start": HUGE}, "start"),
        ],
    )
    def test_a_value_of_megabytes(self, api, path, body, field):
        make_security("510300")

        response = api.post(path, body)

        assert response.status_code == 400
        assert response.json()["field"] == field
        assert len(response.content) < 300

    def test_an_unknown_query_field_of_kilobytes(self, api):
        response = api.get(RUNS, **{"y" * 5000: "1"})

        assert response.status_code == 400
        assert len(response.content) < 300


def test_a_query_field_given_twice_is_refused(api):
    response = api.client.get(f"{RUNS}?page=1&page=2", headers=api.headers)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid", "message": "give it once", "field": "page"}


class TestEveryKindAndCancel:
    def test_the_calendar_and_corporate_actions_are_queued_like_the_others(self, api, syncer):
        calendar = api.post("/api/sync/calendar")
        actions = api.post(
            "/api/sync/corporate-actions", {"years": [2024, 2022, 2024], "cross_check": True}
        )

        assert (calendar.status_code, actions.status_code) == (202, 202)
        runs = {run.kind: run for run in SyncRun.objects.all()}
        assert runs["calendar"].parameters == {} and runs["calendar"].trigger == "api"
        assert runs["corporate_actions"].parameters == {"years": [2022, 2024], "cross_check": True}
        assert OrmQ.objects.count() == 2

    def test_a_queued_run_is_cancelled_at_once_and_a_running_one_asked_to_stop(self, api):
        queued = make_run(status="queued", task_id="t1", scope="a")
        running = make_run(status="running", scope="b")

        first = api.post(f"{RUNS}/{queued.pk}/cancel")
        second = api.post(f"{RUNS}/{running.pk}/cancel")

        assert (first.status_code, first.json()["status"]) == (202, "cancelled")
        assert (second.status_code, second.json()["status"]) == (202, "running")
        assert second.json()["cancel_requested"] is True

    def test_an_ended_run_is_a_conflict(self, api):
        ended = make_run(status="succeeded")

        response = api.post(f"{RUNS}/{ended.pk}/cancel")

        assert response.status_code == 409
        assert response.json() == {
            "error": "conflict",
            "message": f"run #{ended.pk} has ended already (succeeded)",
        }


# The API's door for each sync kind the registry knows: a kind added without one fails here.
START_PATHS = {
    "etf_lists": LISTS,
    "etf_prices": PRICES,
    "calendar": "/api/sync/calendar",
    "corporate_actions": "/api/sync/corporate-actions",
    "suspensions": "/api/sync/suspensions",
    "stock_lists": "/api/sync/stock/lists",
    "stock_prices": "/api/sync/stock/prices",
    "full_sync": "/api/sync/full",
}


def test_every_kind_the_registry_knows_can_be_started(api):
    from etfs.sync.registry import JOBS

    assert set(START_PATHS) == set(JOBS)
    for kind, path in START_PATHS.items():
        response = api.post(path)
        assert response.status_code == 202, (kind, response.content)
        assert response.json()["kind"] == kind


def test_suspensions_of_given_days_or_a_backfill(api):
    api.post("/api/sync/suspensions", {"days": ["2024-03-01", "2024-02-29", "2024-03-01"]})
    api.post("/api/sync/suspensions", {"backfill": True, "since": "2024-01-01"})

    parameters = [run.parameters for run in SyncRun.objects.order_by("id")]
    assert parameters == [
        {"days": ["2024-02-29", "2024-03-01"]},
        {"backfill": True, "since": "2024-01-01"},
    ]
