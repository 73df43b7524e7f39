"""The admin's price sync: the action on selected ETFs, the button, the changelists."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import OrmQ

from etfs.market import SHANGHAI
from etfs.models import (
    SyncKind,
    SyncRun,
    SyncStatus,
    SyncTrigger,
)
from tests.factories import make_bars, make_security, make_staff_user
from tests.sync.prices.market import (
    sync,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- (k) the admin ------------------------------------------------------------------------------

STOCKINFO_LIST = "admin:etfs_stockinfo_changelist"
DAILYBAR_LIST = "admin:etfs_dailybar_changelist"


@pytest.fixture
def operator(client):
    """Staff who may see securities and bars and start syncs, logged in."""
    user = make_staff_user(
        "operator",
        "etfs.view_stockinfo",
        "etfs.view_dailybar",
        "etfs.view_syncrun",
        "etfs.run_sync",
    )
    client.force_login(user)
    return user


@pytest.mark.django_db
class TestAdmin:
    def test_the_action_queues_a_price_run_of_the_selected_etfs(self, client, operator):
        chosen = [make_security("510300"), make_security("159915", "XSHE")]
        make_security("510500")

        response = client.post(
            reverse(STOCKINFO_LIST),
            {
                "action": "sync_prices_of_selected",
                "_selected_action": [security.pk for security in chosen],
            },
        )

        run = SyncRun.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("admin:etfs_syncrun_change", args=[run.pk])
        assert (run.kind, run.status, run.trigger) == (
            SyncKind.ETF_PRICES,
            SyncStatus.QUEUED,
            SyncTrigger.ADMIN,
        )
        assert run.parameters == {"codes": ["159915", "510300"]}
        assert run.requested_by == operator
        assert run.task_id
        assert OrmQ.objects.count() == 1

    def test_the_action_skips_securities_that_are_not_etfs(self, client, operator):
        stock = make_security("600000", is_etf=False)

        response = client.post(
            reverse(STOCKINFO_LIST),
            {"action": "sync_prices_of_selected", "_selected_action": [stock.pk]},
            follow=True,
        )

        assert not SyncRun.objects.exists()
        assert "None of the selected securities is an ETF." in response.content.decode()

    def test_the_action_needs_the_run_sync_permission(self, client):
        client.force_login(make_staff_user("viewer", "etfs.view_stockinfo"))
        fund = make_security("510300")

        response = client.post(
            reverse(STOCKINFO_LIST),
            {"action": "sync_prices_of_selected", "_selected_action": [fund.pk]},
        )

        assert response.status_code in (200, 302)
        assert not SyncRun.objects.exists()

    def test_the_sync_all_prices_button_queues_a_run_of_every_etf(self, client, operator):
        response = client.post(reverse("admin:etfs_stockinfo_sync_prices"))

        run = SyncRun.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("admin:etfs_syncrun_change", args=[run.pk])
        assert (run.kind, run.status, run.parameters) == (SyncKind.ETF_PRICES, "queued", {})

    def test_the_changelist_shows_bar_counts_without_a_query_per_row(self, client, operator):
        def changelist() -> tuple[int, str]:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse(STOCKINFO_LIST))
            assert response.status_code == 200
            return len(queries), response.content.decode()

        make_bars(make_security("510300"), 7)
        make_bars(make_security("159915", "XSHE"), 4)
        few, content = changelist()
        for index in range(20):
            make_bars(make_security(f"{512000 + index:06d}"), 3)
        many, _ = changelist()

        assert many == few
        assert '<td class="field-bar_count">7</td>' in content
        assert '<td class="field-bar_count">4</td>' in content

    def test_the_daily_bar_changelist_renders(self, client, operator, server):
        sync()

        response = client.get(reverse(DAILYBAR_LIST))

        assert response.status_code == 200
        content = response.content.decode()
        assert "510000.XSHG" in content
        assert "2024-03-29" in content or "March 29, 2024" in content


@pytest.mark.parametrize(
    ("slug", "is_etf", "noun"), [("prices", True, "ETFs"), ("stock_prices", False, "Stocks")]
)
def test_each_price_button_confirms_its_universes_plan(client, operator, slug, is_etf, noun):
    """On a Monday the calendar does not know yet: the plan says so, nothing is queued."""
    make_security(is_etf=is_etf, last_bar_date=dt.date(2026, 12, 31))
    make_security(is_etf=is_etf)

    with time_machine.travel(dt.datetime(2027, 1, 4, 17, tzinfo=SHANGHAI), tick=False):
        client.force_login(operator)  # the session of today has expired by then
        response = client.get(reverse(f"admin:etfs_stockinfo_sync_{slug}"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Last final day: 2026-12-31 (today is not in the calendar yet" in content
    assert f"{noun}: <strong>1</strong> up to date, <strong>0</strong> behind" in content
    assert not SyncRun.objects.exists()
