"""The admin: sync buttons and their permission, the run page, the securities list."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import OrmQ

from etfs.models import ListingStatus, SyncKind, SyncRun, SyncRunError, SyncStatus
from etfs.tasks import enqueue_sync
from tests.factories import make_bars, make_run, make_run_error, make_security, make_staff_user

pytestmark = pytest.mark.django_db

STOCKINFO_LIST = "admin:etfs_stockinfo_changelist"
SYNCRUN_LIST = "admin:etfs_syncrun_changelist"
SYNC_LISTS = "admin:etfs_stockinfo_sync_lists"
BUTTON = 'id="sync-etf-lists"'
VIEW_PERMISSIONS = ("etfs.view_stockinfo", "etfs.view_syncrun", "etfs.view_syncrunerror")


@pytest.fixture
def operator(client):
    """A staff user who may start syncs, logged in."""
    user = make_staff_user("operator", *VIEW_PERMISSIONS, "etfs.run_sync")
    client.force_login(user)
    return user


@pytest.fixture
def viewer(client):
    """A staff user who may look but not start syncs, logged in."""
    user = make_staff_user("viewer", *VIEW_PERMISSIONS)
    client.force_login(user)
    return user


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


class TestSyncButton:
    @pytest.mark.parametrize("page", [STOCKINFO_LIST, SYNCRUN_LIST])
    def test_shown_to_staff_who_may_run_syncs(self, client, operator, page):
        response = client.get(reverse(page))

        assert response.status_code == 200
        content = response.content.decode()
        assert BUTTON in content
        assert "Sync ETF lists" in content
        assert f'action="{reverse(page.replace("changelist", "sync_lists"))}"' in content

    @pytest.mark.parametrize("page", [STOCKINFO_LIST, SYNCRUN_LIST])
    def test_hidden_from_staff_who_may_not(self, client, viewer, page):
        response = client.get(reverse(page))

        assert response.status_code == 200
        assert BUTTON not in response.content.decode()

    def test_post_queues_a_run_and_links_to_it(self, client, operator):
        response = client.post(reverse(SYNC_LISTS))

        run = SyncRun.objects.get()
        run_url = reverse("admin:etfs_syncrun_change", args=[run.pk])
        assert response.status_code == 302
        assert response.url == run_url
        assert run.kind == SyncKind.ETF_LISTS
        assert run.status == SyncStatus.QUEUED
        assert run.trigger == "admin"
        assert run.requested_by == operator
        assert run.task_id
        assert OrmQ.objects.get().task_id() == run.task_id
        assert messages_of(response) == [
            f'Queued <a href="{run_url}">run #{run.pk}</a> (ETF lists).'
        ]

    def test_the_run_page_shows_the_message_with_its_link(self, client, operator):
        response = client.post(reverse(SYNC_LISTS), follow=True)

        run = SyncRun.objects.get()
        run_url = reverse("admin:etfs_syncrun_change", args=[run.pk])
        assert response.status_code == 200
        assert f'Queued <a href="{run_url}">run #{run.pk}</a>' in response.content.decode()

    def test_the_button_on_the_runs_page_does_the_same(self, client, operator):
        response = client.post(reverse("admin:etfs_syncrun_sync_lists"))

        assert response.status_code == 302
        assert SyncRun.objects.get().trigger == "admin"

    def test_a_second_post_while_queued_joins_the_first_run(self, client, operator):
        client.post(reverse(SYNC_LISTS))
        first = SyncRun.objects.get()

        response = client.post(reverse(SYNC_LISTS))

        assert SyncRun.objects.count() == 1
        assert OrmQ.objects.count() == 1
        assert response.url == reverse("admin:etfs_syncrun_change", args=[first.pk])
        message = messages_of(response)[-1]  # after the unread "Queued" of the first post
        assert "already queued" in message
        assert f"run #{first.pk}" in message

    def test_a_post_joins_a_queued_command_run_of_both_exchanges(self, client, operator):
        command_run, _ = enqueue_sync(
            SyncKind.ETF_LISTS, "command", {"exchanges": ["XSHE", "XSHG"]}
        )

        client.post(reverse(SYNC_LISTS))

        assert list(SyncRun.objects.active()) == [command_run]

    def test_a_forged_post_without_the_permission_is_refused(self, client, viewer):
        response = client.post(reverse(SYNC_LISTS))

        assert response.status_code == 403
        assert not SyncRun.objects.exists()
        assert not OrmQ.objects.exists()

    def test_a_get_is_not_allowed(self, client, operator):
        response = client.get(reverse(SYNC_LISTS))

        assert response.status_code == 405
        assert not SyncRun.objects.exists()

    def test_anonymous_users_are_sent_to_the_login(self, client):
        response = client.post(reverse(SYNC_LISTS))

        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
        assert not SyncRun.objects.exists()


class TestSyncRunPage:
    def test_shows_counters_and_problems(self, admin_client):
        run = make_run(
            status=SyncStatus.PARTIAL,
            rows_fetched=1012,
            rows_created=7,
            rows_updated=3,
            rows_delisted=2,
            rows_rejected=1,
            error_summary="the list stopped after 3 page(s): push2 answered HTTP 503",
        )
        make_run_error(run, "push2 answered HTTP 503 after retries")
        make_run_error(
            run,
            "ETF list row 15991: code is not six digits",
            code="15991",
            severity=SyncRunError.Severity.REJECTED,
            detail="{'f12': '15991'}",
        )

        response = admin_client.get(reverse("admin:etfs_syncrun_change", args=[run.pk]))

        assert response.status_code == 200
        content = response.content.decode()
        assert "1,012" in content
        assert "Partial" in content
        assert "the list stopped after 3 page(s): push2 answered HTTP 503" in content
        assert "push2 answered HTTP 503 after retries" in content
        assert "ETF list row 15991: code is not six digits" in content
        assert [(group.severity, group.count) for group in response.context["problem_groups"]] == [
            ("error", 1),
            ("rejected", 1),
        ]
        assert f"?run__id__exact={run.pk}" in content

    def test_a_queued_run_shows_its_waiting_task(self, client, operator):
        client.post(reverse(SYNC_LISTS))
        run = SyncRun.objects.get()

        response = client.get(reverse("admin:etfs_syncrun_change", args=[run.pk]))

        assert response.status_code == 200
        assert f"{run.task_id} (waiting in the queue)" in response.content.decode()

    def test_the_run_list_renders(self, admin_client):
        make_run(rows_fetched=1012)
        make_run(status=SyncStatus.FAILED, error_summary="boom")

        response = admin_client.get(reverse(SYNCRUN_LIST))

        assert response.status_code == 200
        assert response.context["cl"].result_count == 2


class TestStockInfoList:
    @pytest.fixture
    def securities(self):
        return {
            "510300": make_security("510300", "XSHG", name="沪深300ETF"),
            "159915": make_security("159915", "XSHE", name="创业板ETF"),
            "600000": make_security("600000", "XSHG", name="浦发银行", is_etf=False),
            "510999": make_security(
                "510999", "XSHG", name="退市ETF", status=ListingStatus.DELISTED
            ),
        }

    def codes(self, response) -> set[str]:
        assert response.status_code == 200
        return {security.code for security in response.context["cl"].result_list}

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("", {"510300", "159915", "600000", "510999"}),
            ("exchange__exact=XSHE", {"159915"}),
            ("exchange__exact=XSHG", {"510300", "600000", "510999"}),
            ("is_etf__exact=1", {"510300", "159915", "510999"}),
            ("is_etf__exact=0", {"600000"}),
            ("status__exact=delisted", {"510999"}),
            ("q=510300", {"510300"}),
            ("q=创业板", {"159915"}),
            ("exchange__exact=XSHG&is_etf__exact=1&status__exact=listed", {"510300"}),
        ],
    )
    def test_filters_and_search(self, admin_client, securities, query, expected):
        response = admin_client.get(reverse(STOCKINFO_LIST) + "?" + query)

        assert self.codes(response) == expected

    def test_shows_the_bar_summary(self, admin_client, securities):
        make_bars(securities["510300"], 5)

        response = admin_client.get(reverse(STOCKINFO_LIST) + "?q=510300")

        [row] = response.context["cl"].result_list
        assert row.bar_count == 5
        assert str(row.first_bar_date) == "2024-01-02"
        assert str(row.last_bar_date) == "2024-01-06"

    def test_the_query_count_does_not_grow_with_the_securities(self, admin_client):
        def changelist_queries() -> int:
            with CaptureQueriesContext(connection) as queries:
                response = admin_client.get(reverse(STOCKINFO_LIST))
            assert response.status_code == 200
            return len(queries)

        for index in range(3):
            make_bars(make_security(f"{510000 + index:06d}"), 3)
        few = changelist_queries()
        for index in range(3, 60):
            make_bars(make_security(f"{510000 + index:06d}"), 3)
        many = changelist_queries()

        assert many == few


class TestStockInfoBarsPeriods:
    """An ETF's page lists its recent bars daily, weekly or monthly."""

    def test_the_page_switches_between_daily_weekly_and_monthly(self, client, viewer):
        from django.urls import reverse

        from tests.factories import make_bars, make_security

        security = make_security()
        make_bars(security, 21, start=dt.date(2024, 1, 1))  # Mon 1 Jan .. Sun 21 Jan
        url = reverse("admin:etfs_stockinfo_change", args=[security.pk])

        daily = client.get(url)
        weekly = client.get(url, {"period": "week"})
        monthly = client.get(url, {"period": "month"})

        assert daily.status_code == weekly.status_code == monthly.status_code == 200
        assert [bar["period_start"] for bar in daily.context["bars_page"]][:2] == [
            dt.date(2024, 1, 21),
            dt.date(2024, 1, 20),
        ]
        weeks = weekly.context["bars_page"]
        assert [(week["period_start"], week["days"], week["volume"]) for week in weeks] == [
            (dt.date(2024, 1, 15), 7, 700_000),
            (dt.date(2024, 1, 8), 7, 700_000),
            (dt.date(2024, 1, 1), 7, 700_000),
        ]
        [month] = monthly.context["bars_page"]
        assert (month["period_start"], month["days"]) == (dt.date(2024, 1, 1), 21)
        assert b'<span aria-current="page">Weekly</span>' in weekly.content
        assert b'href="?period=month&amp;adjust=none"' in weekly.content
        chart = reverse("admin:etfs_stockinfo_chart", args=[security.pk])
        assert len(client.get(chart, {"period": "week"}).json()["points"]) == 3


class TestFrontPage:
    def test_the_front_page_shows_funds_last_runs_and_pauses(self, client, viewer):
        import datetime as dt

        from django.utils import timezone

        from etfs.models import SourceCooldown
        from tests.factories import make_run, make_security

        make_security("510300", "XSHG")
        make_security("159915", "XSHE")
        make_security("159919", "XSHE")
        run = make_run(kind="etf_prices", status="partial", error_summary="1 of 3 ETF(s) failed")
        SourceCooldown.objects.create(
            source="eastmoney", until=timezone.now() + dt.timedelta(minutes=5), reason="HTTP 403"
        )

        response = client.get("/admin/")

        page = response.content.decode()
        assert response.status_code == 200
        assert dict(response.context["overview"]["etfs_by_exchange"]) == {"XSHG": 1, "XSHE": 2}
        assert f"/admin/etfs/syncrun/{run.pk}/change/" in page
        assert "Last ETF price run" in page and "Last ETF list run" in page
        assert "Partial" in page and "1 of 3 ETF(s) failed" in page
        assert "Paused" in page and "HTTP 403" in page
        assert response.context["overview"]["active_runs"] == []


class TestCancelButton:
    def test_an_operator_cancels_a_running_run_from_its_page(self, client, operator):
        from tests.factories import make_run

        run = make_run(kind="etf_prices", status="running", scope="etf_prices")
        page = client.get(f"/admin/etfs/syncrun/{run.pk}/change/")
        assert b'id="cancel-run"' in page.content
        assert b'data-refresh-seconds="5"' in page.content  # follows the run while it is active

        response = client.post(f"/admin/etfs/syncrun/{run.pk}/cancel/", follow=True)

        run.refresh_from_db()
        assert run.cancel_requested and run.status == "running"  # the worker stops it
        assert f"Run #{run.pk} will stop at the next ETF." in messages_of(response)

    def test_a_queued_run_is_cancelled_at_once(self, client, operator):
        from tests.factories import make_run

        run = make_run(status="queued", task_id="t1")

        client.post(f"/admin/etfs/syncrun/{run.pk}/cancel/")

        run.refresh_from_db()
        assert run.status == "cancelled"

    def test_without_the_permission_there_is_no_button_and_a_post_is_refused(self, client, viewer):
        from tests.factories import make_run

        run = make_run(status="running")

        page = client.get(f"/admin/etfs/syncrun/{run.pk}/change/")
        response = client.post(f"/admin/etfs/syncrun/{run.pk}/cancel/")

        assert b'id="cancel-run"' not in page.content
        assert response.status_code == 403
        run.refresh_from_db()
        assert not run.cancel_requested


@pytest.mark.parametrize("object_id", ["abc", "５１", "1e3", "-1"])
def test_a_security_page_for_what_is_no_id_is_not_found(admin_client, object_id):
    make_security("510300")

    response = admin_client.get(f"/admin/etfs/stockinfo/{object_id}/change/")

    assert response.status_code == 404


@pytest.mark.parametrize("object_id", ["12345", "99999999999999999999"])
def test_a_security_page_for_an_id_nobody_has_goes_back_to_the_index(admin_client, object_id):
    """Django's way with a missing object: back to the admin index, saying so."""
    response = admin_client.get(f"/admin/etfs/stockinfo/{object_id}/change/")

    assert (response.status_code, response.url) == (302, "/admin/")


def test_a_security_page_with_a_real_id_shows_its_bars(admin_client):
    security = make_security("510300")
    make_bars(security, days=3)

    response = admin_client.get(f"/admin/etfs/stockinfo/{security.pk}/change/")

    assert response.status_code == 200
    assert len(response.context["bars_page"].object_list) == 3
