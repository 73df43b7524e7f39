"""The daily bars list: searches that look the securities up first, an order an index gives,
sorting offered only where it is cheap, counts that stop early. Timings live in bench/market.py;
these tests pin the queries' shape and what the page shows."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from etfs.admin import bars as bars_admin
from etfs.models import DailyBar, StockInfo
from tests.factories import make_bars, make_security

pytestmark = pytest.mark.django_db
BAR_LIST = "admin:etfs_dailybar_changelist"
TABLE = DailyBar._meta.db_table


@pytest.fixture
def market():
    """510300 on both exchanges (the same code twice), 510310, 159915, 600000."""
    securities = {
        ("510300", "XSHG"): make_security("510300"),
        ("510300", "XSHE"): make_security("510300", "XSHE"),
        ("510310", "XSHG"): make_security("510310"),
        ("159915", "XSHE"): make_security("159915", "XSHE"),
        ("600000", "XSHG"): make_security("600000", is_etf=False),
    }
    for security in securities.values():
        make_bars(security, 3)
    return securities


def bar_list(client, **query):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(BAR_LIST), query)
    assert response.status_code == 200
    bar_queries = [q["sql"] for q in queries if f'FROM "{TABLE}"' in q["sql"]]
    return response, bar_queries


def listed(response) -> set[tuple[str, str]]:
    return {
        (bar.security.code, bar.security.exchange) for bar in response.context["cl"].result_list
    }


@pytest.mark.parametrize(
    "term, found",
    [
        ("510300", {("510300", "XSHG"), ("510300", "XSHE")}),
        ("5103", {("510300", "XSHG"), ("510300", "XSHE"), ("510310", "XSHG")}),
        (" 15 ", {("159915", "XSHE")}),
        ("6", {("600000", "XSHG")}),
    ],
)
def test_a_code_or_its_first_digits_finds_the_bars_by_security_id(
    client, superuser, market, term, found
):
    response, queries = bar_list(client, q=term)

    assert listed(response) == found
    ids = {market[key].pk for key in found}
    assert response.context["cl"].result_count == 3 * len(found)
    # No join on the code, no LIKE over the bars: the ids were looked up first.
    for sql in queries:
        assert "LIKE" not in sql.upper()
        assert '"etfs_dailybar"."security_id" IN (' in sql
        assert all(str(pk) in sql for pk in ids)


@pytest.mark.parametrize("term", ["ETF", "51030a", "5103000", "５１０３００", "%"])
def test_a_fragment_no_code_holds_reads_no_bars(client, superuser, market, term):
    response, queries = bar_list(client, q=term)

    assert listed(response) == set()
    assert response.context["cl"].result_count == 0
    assert queries == []


def test_the_order_is_total_without_the_id(client, superuser, market):
    """(trade date, security) is unique: the (security, trade date) index gives the order of
    one security's bars, and no sort on the id breaks it."""
    response, queries = bar_list(client, q="510310")

    (page_query,) = [sql for sql in queries if "ORDER BY" in sql]
    order = page_query.split("ORDER BY", 1)[1]
    assert '"trade_date" DESC' in order and '"security_id" DESC' in order
    assert '"id"' not in order
    days = [bar.trade_date for bar in response.context["cl"].result_list]
    assert days == sorted(days, reverse=True)


def test_one_security_is_read_through_its_index_without_statistics(market):
    """With no statistics at all (a bulk load on a server without autovacuum), the page of
    one security's newest bars reads that security's index entries, not every day's."""
    fund = market["510310", "XSHG"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (security_id, trade_date, open, high, low, close, volume,"
            " amount) SELECT s.id, DATE '2000-01-01' + d, 1, 1, 1, 1, 1, 1"
            " FROM etfs_stockinfo s CROSS JOIN generate_series(10, 4000) AS d"
        )
        cursor.execute(
            "DELETE FROM pg_statistic WHERE starelid = ANY(ARRAY[%s, %s]::regclass[])",
            [TABLE, StockInfo._meta.db_table],
        )
        page = (
            DailyBar.objects.filter(security_id__in=[fund.pk])
            .order_by("-trade_date", "-security_id")
            .values("id")[:100]
        )
        sql, params = page.query.sql_with_params()
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = json.dumps(cursor.fetchone()[0])

    assert "dailybar_security_day" in plan
    assert "dailybar_day_security" not in plan


def test_value_columns_sort_only_a_search_for_few_securities(client, superuser, market):
    response, _ = bar_list(client)
    assert response.context["cl"].sortable_by == ("trade_date",)

    # A hand-made ?o= on volume does not sort every bar: the order stays the day's.
    _, queries = bar_list(client, o="6")
    order = [sql for sql in queries if "ORDER BY" in sql][0].split("ORDER BY", 1)[1]
    assert '"volume"' not in order

    response, queries = bar_list(client, q="510300", o="6")
    assert "volume_grouped" in response.context["cl"].sortable_by
    order = [sql for sql in queries if "ORDER BY" in sql][0].split("ORDER BY", 1)[1]
    assert order.lstrip().startswith('"etfs_dailybar"."volume" ASC')


def test_a_long_list_is_counted_up_to_the_limit_then_estimated(
    client, superuser, market, monkeypatch
):
    monkeypatch.setattr(bars_admin, "EXACT_COUNT_LIMIT", 4)

    response, queries = bar_list(client, trade_date__gte="2024-01-01")
    count = [sql for sql in queries if "COUNT(" in sql.upper()]
    assert count and all("LIMIT 5" in sql for sql in count)
    # 15 bars: more than 4, so the planner's estimate (of a table never analysed here) is shown.
    queryset = DailyBar.objects.filter(trade_date__gte=dt.date(2024, 1, 1))
    assert response.context["cl"].result_count == max(bars_admin.planner_estimate(queryset), 5)

    response, _ = bar_list(client, q="510310")
    assert response.context["cl"].result_count == 3  # within the limit: exact
