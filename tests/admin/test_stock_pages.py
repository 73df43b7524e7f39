"""Stocks in the admin: filters by kind, board, ST and status; a stock's page with its names."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from etfs.models import SecurityName
from tests.factories import make_bars, make_security

pytestmark = pytest.mark.django_db


@pytest.fixture
def securities():
    return {
        "510300": make_security("510300", "XSHG", name="沪深300ETF"),
        "600000": make_security("600000", "XSHG", name="浦发银行", is_etf=False, board="main"),
        "688001": make_security("688001", "XSHG", name="华兴源创", is_etf=False, board="star"),
        "300001": make_security(
            "300001", "XSHE", name="*ST特锐", is_etf=False, board="chinext", is_st=True
        ),
        "000003": make_security(
            "000003",
            "XSHE",
            name="PT金田A",
            is_etf=False,
            board="main",
            status="delisted",
            delist_date=dt.date(2002, 6, 14),
        ),
    }


def shown(admin_client, query: str) -> set[str]:
    response = admin_client.get(reverse("admin:etfs_stockinfo_changelist") + "?" + query)
    assert response.status_code == 200
    return {security.code for security in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("is_etf__exact=1", {"510300"}),
        ("is_etf__exact=0", {"600000", "688001", "300001", "000003"}),
        ("board__exact=star", {"688001"}),
        ("is_st__exact=1", {"300001"}),
        ("is_etf__exact=0&status__exact=delisted", {"000003"}),
    ],
)
def test_the_list_filters_by_kind_board_st_and_status(admin_client, securities, query, codes):
    assert shown(admin_client, query) == codes


def test_the_kind_filter_says_etfs_and_stocks(admin_client, securities):
    response = admin_client.get(reverse("admin:etfs_stockinfo_changelist"))

    assert '<a href="?is_etf__exact=0">Stocks</a>' in response.content.decode()


def test_a_stocks_page_shows_its_names_over_time_its_delisting_and_its_bars(
    admin_client, securities
):
    stock = securities["000003"]
    make_bars(stock, 5)
    SecurityName.objects.create(security=stock, name="深金田A", first_seen=dt.date(2001, 1, 2))
    SecurityName.objects.create(security=stock, name="PT金田A", first_seen=dt.date(2002, 1, 4))
    stock.history_unavailable_at = timezone.now()
    stock.save()

    response = admin_client.get(reverse("admin:etfs_stockinfo_change", args=[stock.pk]))
    page = response.content.decode()

    assert response.status_code == 200
    assert "names over time" in page.lower()
    names = page[page.lower().index("names over time") :]
    assert names.index("深金田A") < names.index("Jan. 2, 2001") < names.index("PT金田A")
    assert "June 14, 2002" in page  # the delisting date
    assert "the source has no k-lines for this delisted security" in page
    assert 'id="bars-table"' in page and 'id="price-history"' in page
    assert "ChiNext" not in page and "Main board" in page


def test_the_kind_column_names_a_stocks_board_and_its_risk_warning(admin_client, securities):
    response = admin_client.get(reverse("admin:etfs_stockinfo_changelist") + "?o=1")
    page = response.content.decode()

    assert '<td class="field-kind">ChiNext, ST</td>' in page
    assert '<td class="field-kind">STAR Market</td>' in page
    assert '<td class="field-kind">ETF</td>' in page
