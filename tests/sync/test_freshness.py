"""Freshness, gaps and revisions: kept on StockInfo by the writes, shown in the admin, and the
plan of a price run before it runs.

The fake's histories run 2024-01-01..2024-03-29 (a Friday); the clock is moved with
time-machine to that evening, so "the last final day" is 2024-03-29.
"""

import datetime as dt
import io
import json
import random
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import connections, transaction
from django.urls import reverse

from etfs.models import (
    BarRevision,
    DailyBar,
    StockInfo,
    SyncRun,
    SyncStatus,
    SyncTrigger,
    TradingDay,
)
from etfs.providers.base import Bar, BarRows
from etfs.sync.calendar import SHANGHAI, record_trading_days, seed_from_shipped_file
from etfs.sync.freshness import (
    missing_trading_days,
    recount_missing_days,
    refresh_bar_summary,
)
from etfs.sync.prices import PriceOptions, sync_etf_prices
from etfs.sync.upsert import upsert_fund_bars
from tests.conftest import HISTORY_END
from tests.factories import make_security

pytestmark = pytest.mark.django_db(transaction=True)

EVENING = dt.datetime.combine(HISTORY_END, dt.time(17), tzinfo=SHANGHAI)
SUSPENDED = {dt.date(2024, 3, 11), dt.date(2024, 3, 12), dt.date(2024, 3, 13)}


@pytest.fixture(autouse=True)
def evening():
    with time_machine.travel(EVENING, tick=False):
        yield


def fake_fund(server, code: str):
    [fund] = [fund for fund in server.funds.values() if fund.code == code]
    return fund


def sync(**options) -> SyncRun:
    options.setdefault("start_year", 2024)
    run = sync_etf_prices(PriceOptions(**options))
    run.refresh_from_db()
    return run


def security(code: str) -> StockInfo:
    return StockInfo.objects.get(code=code)


class TestKeptByTheWrites:
    def test_a_fund_with_a_suspension_has_gaps_and_is_behind(self, server):
        fund = fake_fund(server, "510001")
        fund.bars = [bar for bar in fund.bars if bar.day not in SUSPENDED][:-2]  # and at the end

        run = sync()

        suspended = security("510001")
        assert suspended.bar_count == DailyBar.objects.filter(security=suspended).count()
        assert (suspended.first_bar_date, suspended.last_bar_date) == (
            dt.date(2024, 1, 2),
            dt.date(2024, 3, 27),
        )
        assert suspended.missing_days == 3
        assert missing_trading_days(suspended) == sorted(SUSPENDED)
        assert suspended.days_behind == 2
        fresh = security("510000")
        assert (fresh.missing_days, fresh.days_behind, fresh.last_bar_date) == (0, 0, HISTORY_END)
        assert run.status == SyncStatus.SUCCEEDED
        assert run.error_summary == (
            "1 ETF(s) have no bar for 2024-03-29: suspended, or missing at the source"
        )

    def test_a_back_filled_hole_closes_the_gap(self, server):
        sync()
        DailyBar.objects.filter(security__code="510002", trade_date__in=SUSPENDED).delete()
        refresh_bar_summary([security("510002").pk])
        assert security("510002").missing_days == 3

        sync(start=dt.date(2024, 3, 1))

        assert security("510002").missing_days == 0

    def test_a_revised_bar_leaves_a_revision_and_counts_as_updated(self, server):
        first = sync()
        revised = fake_fund(server, "159001").bars[-3]
        old_close, old_high = revised.close, revised.high
        revised.close = revised.high + Decimal("0.011")
        revised.high = revised.close + Decimal("0.002")

        run = sync()

        assert run.rows_updated == 1
        [revision] = BarRevision.objects.all()
        assert (revision.security.code, revision.trade_date, revision.run) == (
            "159001",
            revised.day,
            run,
        )
        assert (revision.old_close, revision.old_high) == (old_close, old_high)
        assert (revision.new_close, revision.new_high) == (revised.close, revised.high)
        assert revision.old_volume == revision.new_volume == revised.lots * 100
        assert not BarRevision.objects.filter(run=first).exists()


SUMMARY = ("bar_count", "first_bar_date", "last_bar_date", "missing_days")


def summaries(securities) -> dict[int, tuple]:
    rows = StockInfo.objects.filter(pk__in=[s.pk for s in securities])
    return {row[0]: row[1:] for row in rows.values_list("pk", *SUMMARY)}


def recounted(securities) -> dict[int, tuple]:
    """The summaries a full recount of the bars gives, rolled back: the kept ones stay as the
    batches left them."""
    with transaction.atomic():
        refresh_bar_summary([s.pk for s in securities])
        recount = summaries(securities)
        transaction.set_rollback(True)
    return recount


def bar(day: dt.date, close: str = "1.000") -> Bar:
    price = Decimal(close)
    return Bar(day, price, price, price, price, 1000, price * 1000)


def days(first: dt.date, count: int) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range(count)]


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request):
    """The writes on PostgreSQL, or on SQLite (the embedded default): the test's default
    connection is the in-memory SQLite test database for its duration."""
    if request.param == "postgresql":
        yield request.param
        return
    postgresql = connections["default"]
    connections["default"] = connections["sqlite"]
    try:
        seed_from_shipped_file()  # a flush by an earlier test may have emptied it
        yield request.param
    finally:
        connections["default"] = postgresql


@pytest.mark.django_db(databases=["default", "sqlite"])
class TestKeptByEachBatch:
    """Each batch adds what it inserted to the summary; it must stay what a full recount of
    the bars gives (2024-01-06 and 07 are a weekend, 2024-02-09..17 the Spring Festival)."""

    def test_a_batch_that_inserts_nothing_leaves_the_summary(self, database):
        fund = make_security()
        upsert_fund_bars([(fund.pk, [bar(day) for day in days(dt.date(2024, 1, 2), 20)])])
        kept = summaries([fund])

        unchanged = upsert_fund_bars([(fund.pk, [bar(dt.date(2024, 1, 5))])])
        revised = upsert_fund_bars([(fund.pk, [bar(dt.date(2024, 1, 8), "1.001")])])

        assert (unchanged.inserted, unchanged.unchanged) == (0, 1)
        assert (revised.inserted, revised.updated) == (0, 1)
        assert summaries([fund]) == kept == recounted([fund])
        assert kept[fund.pk] == (20, dt.date(2024, 1, 2), dt.date(2024, 1, 21), 0)

    def test_new_bars_before_after_and_inside_widen_and_count(self, database):
        fund = make_security()
        upsert_fund_bars([(fund.pk, [bar(dt.date(2024, 3, 4)), bar(dt.date(2024, 3, 8))])])
        assert summaries([fund])[fund.pk] == (2, dt.date(2024, 3, 4), dt.date(2024, 3, 8), 3)

        # One batch: a bar before the first, one inside the gap, one after the last, and one
        # stored bar revised; the same security twice in the batch.
        upsert_fund_bars(
            [
                (fund.pk, [bar(dt.date(2024, 2, 29)), bar(dt.date(2024, 3, 4), "1.002")]),
                (fund.pk, BarRows.from_bars([bar(dt.date(2024, 3, 6)), bar(dt.date(2024, 3, 12))])),
            ]
        )

        assert summaries([fund])[fund.pk] == (5, dt.date(2024, 2, 29), dt.date(2024, 3, 12), 4)
        assert summaries([fund]) == recounted([fund])

    def test_a_batch_counts_missing_days_on_the_calendar_as_it_is_now(self, database):
        fund = make_security()
        upsert_fund_bars([(fund.pk, [bar(dt.date(2024, 3, 4)), bar(dt.date(2024, 3, 8))])])
        TradingDay.objects.filter(date=dt.date(2024, 3, 6)).update(is_open=False)

        upsert_fund_bars([(fund.pk, [bar(dt.date(2024, 3, 8))])])

        assert summaries([fund])[fund.pk] == (2, dt.date(2024, 3, 4), dt.date(2024, 3, 8), 2)
        assert summaries([fund]) == recounted([fund])

    def test_a_day_the_calendar_learns_after_the_bars_counts_at_once(self, database):
        """2027: the after-close run stores a day's bars before the calendar sync knows the
        day; when the calendar learns it (or corrects a day it held closed), the missing days
        of the funds whose bars span it are counted again, without a new batch."""
        first, later, untouched = make_security(), make_security(), make_security()
        known = [day for day in days(dt.date(2026, 12, 28), 4) if day.weekday() < 5]
        TradingDay.objects.filter(date__gt=dt.date(2026, 12, 31)).delete()
        new_year = [dt.date(2027, 1, 4), dt.date(2027, 1, 5), dt.date(2027, 1, 6)]
        upsert_fund_bars(
            [
                (first.pk, [bar(day) for day in known + new_year[:1] + new_year[2:]]),
                (later.pk, [bar(day) for day in new_year]),
                (untouched.pk, [bar(day) for day in known]),
            ]
        )
        TradingDay.objects.filter(date=dt.date(2026, 12, 30)).update(is_open=False)
        assert summaries([first])[first.pk][3] == 0  # 01-05 unknown: no gap seen yet

        record_trading_days(new_year + [dt.date(2026, 12, 30)], source="index")

        kept = summaries([first, later, untouched])
        assert kept == recounted([first, later, untouched])
        assert kept[first.pk][3] == 1  # 2027-01-05 has no bar
        assert kept[later.pk][3] == 0

    def test_mixed_batches_keep_the_summary_a_recount_gives(self, database):
        """Seeded rounds of batches over a few funds: new funds, new bars anywhere in their
        history, bars sent again unchanged or revised, a fund twice in one batch."""
        funds = [make_security() for _ in range(5)]
        calendar = days(dt.date(2023, 12, 1), 120)
        rng = random.Random(20261130)
        for round_number in range(25):
            batch = []
            for fund in rng.sample(funds, rng.randint(1, len(funds))):
                sent = sorted(rng.sample(calendar, rng.randint(1, 12)))
                bars = [bar(day, rng.choice(["1.000", "1.001"])) for day in sent]
                if len(bars) > 1 and rng.random() < 0.3:
                    cut = rng.randint(1, len(bars) - 1)
                    batch += [(fund.pk, bars[:cut]), (fund.pk, BarRows.from_bars(bars[cut:]))]
                else:
                    batch.append((fund.pk, bars))

            upsert_fund_bars(batch)

            assert summaries(funds) == recounted(funds), f"after round {round_number}"
        assert DailyBar.objects.filter(security__in=funds).count() == sum(
            count for count, *_ in summaries(funds).values()
        )


class TestDryRun:
    def test_prints_the_plan_and_sends_no_request(self, server):
        sync(codes=("510000", "159000"))
        DailyBar.objects.filter(security__code="159000", trade_date=HISTORY_END).delete()
        refresh_bar_summary([security("159000").pk])
        server.requests.clear()
        out = io.StringIO()

        call_command("sync_etf_prices", "--dry-run", stdout=out)

        assert server.requests == []
        assert not SyncRun.objects.filter(parameters__has_key="dry_run").exists()
        lines = out.getvalue().splitlines()
        assert lines[0] == "last final day: 2024-03-29"
        assert lines[1] == "ETFs: 1 up to date, 1 behind, 4 without bars"
        assert lines[2].startswith("requests: 0 list page(s) + 6 k-line(s) = 6")

    def test_the_after_close_plan_counts_list_pages_and_fallbacks(self, server, settings):
        settings.ETFSYNC_RATE_LIMIT = 1.0
        sync(codes=("510000", "159000"))
        DailyBar.objects.filter(security__code="159000", trade_date=HISTORY_END).delete()
        refresh_bar_summary([security("159000").pk])
        server.requests.clear()
        out = io.StringIO()

        call_command("sync_etf_prices", "--dry-run", "--from-list", stdout=out)

        assert server.requests == []
        assert out.getvalue().splitlines()[2] == (
            "requests: 1 list page(s) + 4 k-line(s) = 5, about 5 s at 1 request(s)/s"
        )


@pytest.fixture
def operator(admin_client):
    return admin_client


STOCKINFO_LIST = "admin:etfs_stockinfo_changelist"


def listed_codes(response) -> set[str]:
    return {row.code for row in response.context["cl"].result_list}


class TestAdmin:
    @pytest.fixture
    def synced(self, server):
        fund = fake_fund(server, "510001")
        fund.bars = [bar for bar in fund.bars if bar.day not in SUSPENDED][:-2]
        sync()
        return server

    @pytest.mark.parametrize(
        ("freshness", "expected"),
        [
            ("up_to_date", {"510000", "510002", "159000", "159001", "159002"}),
            ("behind", {"510001"}),
            ("gaps", {"510001"}),
        ],
    )
    def test_filters(self, operator, synced, freshness, expected):
        response = operator.get(reverse(STOCKINFO_LIST) + f"?freshness={freshness}")

        assert listed_codes(response) == expected

    def test_sorts_by_the_stored_columns(self, operator, synced):
        response = operator.get(reverse(STOCKINFO_LIST) + "?o=-8")  # missing days, descending

        assert [row.code for row in response.context["cl"].result_list][0] == "510001"
        assert '<td class="field-missing_days">3</td>' in response.content.decode()

    def test_an_etf_page_lists_its_missing_days(self, operator, synced):
        page = reverse("admin:etfs_stockinfo_change", args=[security("510001").pk])

        content = operator.get(page).content.decode()

        assert "2024-03-11, 2024-03-12, 2024-03-13" in content
        # No suspension is known for them: they are missing, not suspended.
        assert "none (no suspension known in its span)" in content

    def test_the_front_page_shows_up_to_date_etfs_per_exchange(self, operator, synced):
        response = operator.get(reverse("admin:index"))
        content = response.content.decode()

        assert "Freshness: a bar for 2024-03-29" in content
        rows = [
            (exchange, n["up_to_date"], n["listed"], str(n["oldest_last_bar"]))
            for exchange, n in response.context["overview"]["freshness"].items()
        ]
        assert sorted(rows) == [("XSHE", 3, 3, "2024-03-29"), ("XSHG", 2, 3, "2024-03-27")]
        assert "2 of 3" in content and "2024-03-27" in content

    def test_the_run_page_lists_revised_bars(self, operator, synced):
        fake_fund(synced, "159001").bars[-3].low -= Decimal("0.001")
        run = sync()

        content = operator.get(reverse("admin:etfs_syncrun_change", args=[run.pk])).content
        text = content.decode()

        assert "Revised bars" in text
        assert "159001" in text

    def test_the_price_sync_confirmation_shows_the_plan_without_asking(self, operator, synced):
        synced.requests.clear()

        response = operator.get(reverse("admin:etfs_stockinfo_sync_prices"))

        content = response.content.decode()
        assert response.status_code == 200
        assert "<strong>5</strong> up to date, <strong>1</strong> behind" in content
        assert "= <strong>6</strong>" in content
        assert synced.requests == []
        assert not SyncRun.objects.filter(status="queued").exists()


@pytest.mark.django_db
def test_the_repair_command_recounts_bars_written_around_the_syncs():
    """Bars loaded with SQL (an import) leave the kept summary behind until the command."""
    fund = make_security()
    upsert_fund_bars([(fund.pk, [bar(day) for day in days(dt.date(2024, 1, 2), 3)])])
    DailyBar.objects.bulk_create(
        DailyBar(
            security=fund,
            trade_date=day,
            **dict.fromkeys(("open", "high", "low"), 1),
            close=1,
            volume=1,
            amount=1,
        )
        for day in (dt.date(2024, 1, 8), dt.date(2024, 1, 10))
    )
    assert summaries([fund])[fund.pk] == (3, dt.date(2024, 1, 2), dt.date(2024, 1, 4), 0)
    out = io.StringIO()

    with time_machine.travel(dt.datetime(2024, 1, 12, 18, tzinfo=SHANGHAI), tick=False):
        call_command("refresh_freshness", stdout=out)

    fund.refresh_from_db()
    # 01-02..01-10 has 7 trading days, 5 bars; 01-11 and 01-12 are after the last bar.
    assert (fund.bar_count, fund.last_bar_date, fund.missing_days) == (5, dt.date(2024, 1, 10), 2)
    assert fund.days_behind == 2
    assert "recounted the bars of 1 security (final day 2024-01-12)" in out.getvalue()


def planner_statistics(model) -> int:
    """Rows of pg_statistic about the model's table (none: the planner guesses)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_statistic WHERE starelid = %s::regclass",
            [model._meta.db_table],
        )
        return cursor.fetchone()[0]


def forget_statistics(*models) -> None:
    """As after a bulk load on a server without autovacuum."""
    with connections["default"].cursor() as cursor:
        for model in models:
            cursor.execute(
                "DELETE FROM pg_statistic WHERE starelid = %s::regclass", [model._meta.db_table]
            )
    assert not any(planner_statistics(model) for model in models)


def test_the_repair_command_leaves_the_planner_statistics_of_what_it_recounted():
    """Bars loaded around the syncs, summaries rewritten: both tables analysed, so the
    admin's lists are not planned on the numbers of before."""
    make_bars_of(make_security(), dt.date(2024, 1, 2), 5)
    forget_statistics(DailyBar, StockInfo)

    call_command("refresh_freshness", stdout=io.StringIO())

    assert planner_statistics(DailyBar) and planner_statistics(StockInfo)


def test_a_recount_of_missing_days_leaves_the_planner_statistics_of_the_summaries():
    fund = make_security()
    make_bars_of(fund, dt.date(2024, 1, 2), 5)
    forget_statistics(StockInfo)

    assert recount_missing_days([dt.date(2024, 1, 3)]) == 1

    assert planner_statistics(StockInfo)


def make_bars_of(fund, first: dt.date, count: int) -> None:
    upsert_fund_bars([(fund.pk, [bar(day) for day in days(first, count)])])


class TestStaleSource:
    """Every fund still far behind after a price run: the source stopped publishing, or the
    calendar is ahead of it. The run says so, names the source's newest day, and announces it."""

    @pytest.fixture
    def receiver(self, httpserver, settings):
        httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
        settings.ETFSYNC_NOTIFY_WEBHOOK_URL = httpserver.url_for("/hook")
        return httpserver

    def stop_publishing(self, server, days: int) -> None:
        for fund in server.funds.values():
            fund.bars = fund.bars[:-days]

    def test_a_source_three_days_behind_everywhere_warns_and_notifies(self, server, receiver):
        self.stop_publishing(server, 3)  # its newest bars are from 2024-03-26

        run = sync_etf_prices(PriceOptions(start_year=2024), trigger=SyncTrigger.SCHEDULE)
        run.refresh_from_db()

        assert run.status == SyncStatus.SUCCEEDED
        assert run.stale_source_day == dt.date(2024, 3, 26)
        assert run.error_summary.startswith(
            "the source's data are stale: its newest bars are from 2024-03-26, and all 6 ETF(s) "
            "with bars are at least 3 trading day(s) behind 2024-03-29"
        )
        assert "suspended, or missing at the source" not in run.error_summary
        [warning] = run.errors.filter(severity="warning")
        assert "2024-03-26" in warning.message and run.warnings == 1
        [document] = [json.loads(request.data) for request, _ in receiver.log]
        assert (document["status"], document["stale_source_day"]) == ("succeeded", "2024-03-26")

    def test_one_day_behind_everywhere_is_within_the_threshold(self, server, receiver):
        self.stop_publishing(server, 1)

        run = sync_etf_prices(PriceOptions(start_year=2024), trigger=SyncTrigger.SCHEDULE)
        run.refresh_from_db()

        assert run.stale_source_day is None
        assert run.error_summary.startswith("6 ETF(s) have no bar for 2024-03-29")
        assert receiver.log == []

    def test_one_fund_up_to_date_means_the_source_publishes(self, server, receiver):
        for fund in server.funds.values():
            if fund.code != "510000":
                fund.bars = fund.bars[:-3]

        run = sync_etf_prices(PriceOptions(start_year=2024), trigger=SyncTrigger.SCHEDULE)
        run.refresh_from_db()

        assert run.stale_source_day is None
        assert run.error_summary.startswith("5 ETF(s) have no bar for 2024-03-29")
        assert receiver.log == []
