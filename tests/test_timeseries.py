"""Weekly and monthly bars from the daily bars (plain PostgreSQL here; TimescaleDB in its lane)."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection

from etfs.models import DailyBar, StockInfo
from etfs.timeseries import resample_rows
from tests.factories import make_security

D = Decimal
# (trade_date, open, high, low, close, volume, amount): a Friday, a week of three bars, and a
# week that straddles the end of January.
BARS = [
    (dt.date(2024, 1, 5), D("1.0000"), D("1.2000"), D("0.9000"), D("1.1000"), 100, D("110.000")),
    (dt.date(2024, 1, 8), D("1.1000"), D("1.3000"), D("1.0000"), D("1.2000"), 200, D("240.000")),
    (dt.date(2024, 1, 10), D("1.2000"), D("1.5000"), D("1.1000"), D("1.4000"), 300, D("420.000")),
    (dt.date(2024, 1, 12), D("1.4000"), D("1.4500"), D("0.8000"), D("1.0000"), 400, D("400.000")),
    (dt.date(2024, 1, 31), D("2.0000"), D("2.1000"), D("1.9000"), D("2.0500"), 500, D("1025.000")),
    (dt.date(2024, 2, 1), D("2.0500"), D("2.2000"), D("2.0000"), D("2.1000"), 600, D("1260.000")),
]


def period(start, open_, high, low, close, volume, amount, days, security_id=None):
    return {
        "security_id": security_id,
        "period_start": start,
        "open": D(open_),
        "high": D(high),
        "low": D(low),
        "close": D(close),
        "volume": volume,
        "amount": D(amount),
        "days": days,
    }


WEEKS = [
    period(dt.date(2024, 1, 1), "1.0000", "1.2000", "0.9000", "1.1000", 100, "110.000", 1),
    period(dt.date(2024, 1, 8), "1.1000", "1.5000", "0.8000", "1.0000", 900, "1060.000", 3),
    period(dt.date(2024, 1, 29), "2.0000", "2.2000", "1.9000", "2.1000", 1100, "2285.000", 2),
]
MONTHS = [
    period(dt.date(2024, 1, 1), "1.0000", "2.1000", "0.8000", "2.0500", 1500, "2195.000", 5),
    period(dt.date(2024, 2, 1), "2.0500", "2.2000", "2.0000", "2.1000", 600, "1260.000", 1),
]


def store(security, bars=BARS):
    DailyBar.objects.bulk_create(
        DailyBar(
            security=security,
            trade_date=day,
            open=open_,
            high=high,
            low=low,
            close=close,
            volume=volume,
            amount=amount,
        )
        for day, open_, high, low, close, volume, amount in bars
    )


def for_security(periods, security_id):
    return [{**bar, "security_id": security_id} for bar in periods]


@pytest.mark.parametrize(("name", "expected"), [("week", WEEKS), ("month", MONTHS)])
def test_resample_rows_groups_ordered_bars_by_period(name, expected):
    rows = [(7, *bar) for bar in BARS]
    assert resample_rows(rows, name) == for_security(expected, 7)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "expected"), [("week", WEEKS), ("month", MONTHS)])
def test_resampled_on_postgresql(name, expected):
    fund, other = make_security(), make_security()
    store(fund)
    store(other, [(day, *[value * 2 for value in values]) for day, *values in BARS])

    assert DailyBar.objects.filter(security=fund).resampled(name) == for_security(expected, fund.pk)
    both = DailyBar.objects.filter(security__in=[fund, other]).resampled(name)
    assert [bar["security_id"] for bar in both] == [fund.pk] * len(expected) + [other.pk] * len(
        expected
    )
    assert both[len(expected)]["close"] == 2 * expected[0]["close"]


@pytest.mark.django_db
def test_resampled_narrowed_by_date_and_empty():
    fund = make_security()
    store(fund)
    january_second_half = DailyBar.objects.filter(security=fund, trade_date__gte="2024-01-09")
    assert [bar["open"] for bar in january_second_half.resampled("week")] == [
        D("1.2000"),
        D("2.0000"),
    ]
    assert DailyBar.objects.filter(security=fund, trade_date__year=2020).resampled("week") == []


def test_resampled_refuses_an_unknown_period():
    with pytest.raises(ValueError, match="period must be one of"):
        DailyBar.objects.none().resampled("quarter")


@pytest.mark.django_db
def test_the_timescaledb_migration_step_leaves_plain_postgresql_alone(caplog):
    """Without the extension the step does nothing and says so in one quiet line."""
    step = importlib.import_module("etfs.migrations.0002_timescaledb")
    if step.timescaledb_available(connection):
        pytest.skip("this PostgreSQL server has TimescaleDB (its lane covers that case)")
    logger = logging.getLogger("etfs.migrations")
    logger.addHandler(caplog.handler)  # the logger does not propagate to the root
    try:
        step.make_hypertable(None, SimpleNamespace(connection=connection))
    finally:
        logger.removeHandler(caplog.handler)

    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("INFO", "TimescaleDB is not available here; etfs_dailybar stays a plain table.")
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        assert cursor.fetchone() is None


# One week: the first open is the week's highest, the last close its lowest (and the other way
# round for the week after), so neither is a MIN or a MAX of the values alone.
TURNING_BARS = [
    (dt.date(2024, 3, 4), D("3.0000"), D("3.1000"), D("2.0000"), D("2.5000"), 10, D("25.000")),
    (dt.date(2024, 3, 5), D("2.2000"), D("2.8000"), D("2.1000"), D("2.7000"), 10, D("27.000")),
    (dt.date(2024, 3, 8), D("2.4000"), D("2.6000"), D("1.9000"), D("2.0000"), 10, D("20.000")),
    (dt.date(2024, 3, 11), D("1.0000"), D("1.3000"), D("0.9000"), D("1.2000"), 10, D("12.000")),
    (dt.date(2024, 3, 13), D("1.5000"), D("1.9000"), D("1.4000"), D("1.8000"), 10, D("18.000")),
    (dt.date(2024, 3, 15), D("1.2000"), D("2.0000"), D("1.1000"), D("1.9000"), 10, D("19.000")),
]


@pytest.mark.django_db(databases=["default", "sqlite"])
@pytest.mark.parametrize("using", ["default", "sqlite"])
def test_a_periods_open_and_close_are_its_first_and_last_days_not_its_extremes(using):
    fund = StockInfo.objects.using(using).create(code="510880", exchange="XSHG", name="ETF")
    DailyBar.objects.using(using).bulk_create(
        DailyBar(
            security=fund, trade_date=day, open=o, high=h, low=low, close=c, volume=v, amount=a
        )
        for day, o, h, low, c, v, a in TURNING_BARS
    )
    bars = DailyBar.objects.using(using).filter(security=fund)
    for weeks in (bars.resampled("week"), bars.adjusted("hfq").resampled("week")):
        assert [(week["period_start"], week["open"], week["close"]) for week in weeks] == [
            (dt.date(2024, 3, 4), D("3.0000"), D("2.0000")),
            (dt.date(2024, 3, 11), D("1.0000"), D("1.9000")),
        ]
    (month,) = bars.resampled("month")
    assert (month["open"], month["close"], month["days"]) == (D("3.0000"), D("1.9000"), 6)
