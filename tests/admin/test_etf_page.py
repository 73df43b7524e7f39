"""An ETF's page: chart data for the chosen period, bars by date range and page, export link."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_bars, make_security

pytestmark = pytest.mark.django_db


@pytest.fixture
def etf():
    security = make_security("510300", name="沪深300ETF")
    make_bars(security, 120, start=dt.date(2024, 1, 1))  # 1 Jan .. 29 Apr 2024
    return security


def page(client, security, **query):
    response = client.get(reverse("admin:etfs_stockinfo_change", args=[security.pk]), query)
    assert response.status_code == 200
    return response


def chart(client, security, **query) -> list[list]:
    """The points the page's chart fetches (its data-source)."""
    response = client.get(reverse("admin:etfs_stockinfo_chart", args=[security.pk]), query)
    assert response.status_code == 200
    return response.json()["points"]


def test_the_chart_holds_the_whole_history_and_the_table_a_page(client, superuser, etf):
    response = page(client, etf)

    points = chart(client, etf)
    assert len(points) == 120
    assert points[0] == ["2024-01-01", 1.0, 1.1, 0.9, 1.05, 100_000]
    bars = response.context["bars_page"]
    assert len(bars.object_list) == 50
    assert bars.object_list[0]["period_start"] == dt.date(2024, 4, 29)  # newest first
    assert bars.paginator.num_pages == 3
    assert b'id="price-chart"' in response.content
    source = reverse("admin:etfs_stockinfo_chart", args=[etf.pk]) + "?period=day&amp;adjust=none"
    assert f'data-source="{source}"'.encode() in response.content
    assert b"100,000" in response.content  # volumes grouped


def test_a_date_range_limits_the_table_and_pages_through_it(client, superuser, etf):
    first = page(client, etf, **{"from": "2024-02-01", "to": "2024-03-31"})
    second = page(client, etf, **{"from": "2024-02-01", "to": "2024-03-31", "page": "2"})

    dates = [bar["period_start"] for bar in first.context["bars_page"]]
    dates += [bar["period_start"] for bar in second.context["bars_page"]]
    assert dates[0] == dt.date(2024, 3, 31) and dates[-1] == dt.date(2024, 2, 1)
    assert len(dates) == 60
    assert len(chart(client, etf, **{"from": "2024-02-01"})) == 120  # the whole history
    assert "start=2024-02-01" in first.context["export_url"]
    assert "end=2024-03-31" in first.context["export_url"]


def test_a_monthly_range_keeps_the_month_it_cuts(client, superuser, etf):
    response = page(client, etf, period="month", **{"from": "2024-02-15"})

    months = [bar["period_start"] for bar in response.context["bars_page"]]
    assert months == [dt.date(2024, 4, 1), dt.date(2024, 3, 1), dt.date(2024, 2, 1)]


def test_a_malformed_date_is_ignored(client, superuser, etf):
    response = page(client, etf, **{"from": "2024-13-45"})

    assert response.context["bars_range"]["from"] is None
    assert response.context["bars_page"].paginator.count == 120


def test_the_chart_and_table_switch_to_adjusted_prices(client, superuser):
    from etfs.sync.factors import recompute_factors
    from tests.adjustment.history import SPLIT_BARS, SPLIT_DAY, add_event, add_fund

    fund = add_fund("513500", "XSHG", SPLIT_BARS)
    add_event(fund, SPLIT_DAY, "split", ratio="2")
    recompute_factors([fund.pk])

    raw = page(client, fund)
    forward = page(client, fund, adjust="qfq")
    backward = page(client, fund, adjust="hfq", period="month")

    assert chart(client, fund)[1][4] == 2.51  # 2022-03-28, as stored
    assert chart(client, fund, adjust="qfq")[1][4] == 1.255  # halved: the split came after
    # The table pages the same prices: newest first, 2022-03-28 second oldest.
    assert [bar["close"] for bar in raw.context["bars_page"]][-2] == Decimal("2.5100")
    assert [bar["close"] for bar in forward.context["bars_page"]][-2] == Decimal("1.2550")
    assert [bar["period_start"] for bar in backward.context["bars_page"]][-1] == dt.date(2014, 1, 1)
    assert "adjust=qfq" in forward.context["export_url"]
    assert "Dividends and splits" in forward.content.decode()


def test_the_page_reads_one_page_of_bars_whatever_the_history(client, superuser, etf):
    """The page's queries do not grow with the history: the chart's data is fetched apart and
    the table's 50 bars are sliced by the database."""
    make_bars(etf, 2000, start=dt.date(2010, 1, 1))
    with CaptureQueriesContext(connection) as queries:
        response = page(client, etf, page="3")

    # (The missing trading days, a list of at most 200, are read from the calendar's side.)
    bar_reads = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT")
        and 'FROM "etfs_dailybar"' in q["sql"]
        and 'FROM "etfs_tradingday"' not in q["sql"]
    ]
    assert bar_reads and all("COUNT(" in sql or "LIMIT 50 OFFSET 100" in sql for sql in bar_reads)
    assert response.context["bars_page"].paginator.count == 2120
    assert b"price-chart-data" not in response.content


def test_the_chart_of_a_security_nobody_may_see_is_not_found(client, etf):
    from tests.factories import make_staff_user

    client.force_login(make_staff_user("nobody"))
    response = client.get(reverse("admin:etfs_stockinfo_chart", args=[etf.pk]))
    assert response.status_code in (403, 404)
    client.force_login(User.objects.create_superuser("boss", password="unused"))
    assert client.get(reverse("admin:etfs_stockinfo_chart", args=["abc"])).status_code == 404


def test_sync_now_queues_this_etfs_prices_and_events(client):
    from django.contrib.auth.models import User
    from django_q.models import OrmQ

    from etfs.models import SyncRun

    client.force_login(User.objects.create_superuser("root", password="unused"))
    etf = make_security("510300")
    stock = make_security("600000", is_etf=False)

    page = client.get(f"/admin/etfs/stockinfo/{etf.pk}/change/").content.decode()
    stock_page = client.get(f"/admin/etfs/stockinfo/{stock.pk}/change/").content.decode()
    response = client.post(f"/admin/etfs/stockinfo/{etf.pk}/sync/")

    assert 'id="sync-now"' in page and 'id="sync-now"' not in stock_page
    runs = {run.kind: run.parameters for run in SyncRun.objects.all()}
    assert runs == {"etf_prices": {"codes": ["510300"]}, "corporate_actions": {"codes": ["510300"]}}
    assert OrmQ.objects.count() == 2
    assert response.url == f"/admin/etfs/stockinfo/{etf.pk}/change/"
