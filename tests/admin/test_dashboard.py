"""The front page counts, per exchange, the ETFs up to date, behind and with gaps."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User

from tests.factories import make_security

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_freshness_per_exchange_with_links_to_the_funds(client):
    client.force_login(User.objects.create_superuser("root", password="unused"))
    day, before = dt.date(2024, 3, 5), dt.date(2024, 3, 1)  # a Tuesday; the Friday before
    make_security("510300", last_bar_date=day)
    make_security("510500", last_bar_date=before, missing_days=2)
    make_security("512880")  # no bars yet: behind
    make_security("159915", "XSHE", last_bar_date=day, missing_days=1)

    with time_machine.travel(dt.datetime(2024, 3, 5, 18, 0, tzinfo=SHANGHAI), tick=False):
        response = client.get("/admin/")

    overview = response.context["overview"]
    assert overview["final_day"] == day
    freshness = {
        exchange: (n["listed"], n["up_to_date"], n["behind"], n["with_gaps"])
        for exchange, n in overview["freshness"].items()
    }
    assert freshness == {"XSHG": (3, 1, 2, 1), "XSHE": (1, 1, 0, 1)}
    assert "?freshness=behind&amp;exchange__exact=XSHG" in response.content.decode()


def test_no_view_site_link_and_the_bare_address_leads_to_the_admin(client):
    client.force_login(User.objects.create_superuser("root", password="unused"))

    page = client.get("/admin/").content.decode()
    home = client.get("/")

    assert "View site" not in page
    assert home.status_code == 302 and home.url == "/admin/"


def test_freshness_per_exchange_and_kind(client):
    client.force_login(User.objects.create_superuser("root", password="unused"))
    day = dt.date(2024, 3, 5)
    make_security("510300", last_bar_date=day)
    make_security("600000", is_etf=False, board="main", last_bar_date=day)
    make_security("600001", is_etf=False, board="main")
    make_security("000001", "XSHE", is_etf=False, board="main", missing_days=3)

    with time_machine.travel(dt.datetime(2024, 3, 5, 18, 0, tzinfo=SHANGHAI), tick=False):
        response = client.get("/admin/")

    overview = response.context["overview"]
    stocks = {
        exchange: (n["listed"], n["up_to_date"], n["behind"], n["with_gaps"])
        for exchange, n in overview["stock_freshness"].items()
    }
    assert stocks == {"XSHG": (2, 1, 1, 0), "XSHE": (1, 0, 1, 1)}
    assert {e: (n["listed"]) for e, n in overview["freshness"].items()} == {"XSHG": 1}
    assert overview["stocks_by_exchange"] == {"XSHG": 2, "XSHE": 1}
    page = response.content.decode()
    assert "?freshness=behind&amp;exchange__exact=XSHE&amp;is_etf__exact=0" in page


def test_a_price_run_that_found_the_source_stale_says_so_in_red(client):
    from tests.factories import make_run

    client.force_login(User.objects.create_superuser("root", password="unused"))
    make_run(kind="etf_prices", status="succeeded", stale_source_day=dt.date(2026, 11, 26))

    page = client.get("/admin/").content.decode()

    assert (
        '<strong class="stale-source">the source\'s data are stale: its newest bars are from '
        "2026-11-26</strong>"
    ) in page
