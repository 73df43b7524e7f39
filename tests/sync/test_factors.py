"""Recomputing a fund's factors: when its events or the close before an event change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from etfs.models import AdjustmentFactor, DailyBar
from etfs.providers.base import Bar
from etfs.sync.factors import funds_needing_factors, recompute_factors
from etfs.sync.upsert import upsert_daily_bars
from tests.adjustment.history import (
    DIVIDEND_BARS,
    DIVIDEND_DAY,
    SPLIT_BARS,
    SPLIT_DAY,
    add_event,
    add_fund,
)

pytestmark = pytest.mark.django_db


def bar_row_versions() -> dict:
    """Each bar's row version (PostgreSQL's xmin): it changes whenever a row is rewritten."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, xmin::text FROM {DailyBar._meta.db_table}")
        return dict(cursor.fetchall())


def factors_of(security) -> list[tuple]:
    return list(
        AdjustmentFactor.objects.filter(security=security)
        .order_by("ex_date")
        .values_list("ex_date", "valid_until", "step", "hfq_factor")
    )


def test_a_new_event_changes_the_factors_without_rewriting_any_bar():
    fund = add_fund("513500", "XSHG", SPLIT_BARS)
    before = bar_row_versions()
    qfq_before = list(DailyBar.objects.filter(security=fund).adjusted("qfq"))
    add_event(fund, SPLIT_DAY, "split", ratio="2")
    update = recompute_factors([fund.pk])
    assert update.changed == {fund.pk}
    assert factors_of(fund) == [(SPLIT_DAY, None, D(2), D(2))]
    assert bar_row_versions() == before
    qfq_after = list(DailyBar.objects.filter(security=fund).adjusted("qfq"))
    assert qfq_after[0]["open"] == qfq_before[0]["open"] / 2


def test_factors_are_rewritten_only_when_they_differ():
    fund = add_fund("513500", "XSHG", SPLIT_BARS)
    add_event(fund, SPLIT_DAY, "split", ratio="2")
    recompute_factors([fund.pk])
    ids = list(AdjustmentFactor.objects.values_list("id", flat=True))
    assert recompute_factors([fund.pk]).changed == set()
    assert list(AdjustmentFactor.objects.values_list("id", flat=True)) == ids


def test_a_second_event_chains_the_periods():
    fund = add_fund("513500", "XSHG", SPLIT_BARS)
    add_event(fund, SPLIT_DAY, "split", ratio="2")
    later = dt.date(2023, 1, 4)
    add_event(fund, later, "cash", cash="0.255")  # P = 1.255 -> step 1.255 / 1.0
    recompute_factors([fund.pk])
    assert factors_of(fund) == [
        (SPLIT_DAY, later, D(2), D(2)),
        (later, None, D("1.255"), D("2.51")),
    ]


def test_a_corrected_close_before_an_ex_date_reprices_the_dividend():
    fund = add_fund("510050", "XSHG", DIVIDEND_BARS)
    add_event(fund, DIVIDEND_DAY, "cash", cash="0.055")
    recompute_factors([fund.pk])
    corrected = Bar(dt.date(2024, 11, 29), D("2.740"), D("2.760"), D("2.730"), D("2.755"), 1, D(1))
    upsert_daily_bars([(fund.pk, corrected)])
    assert funds_needing_factors([(fund.pk, corrected.trade_date)]) == {fund.pk}
    assert recompute_factors([fund.pk]).changed == {fund.pk}
    (row,) = AdjustmentFactor.objects.filter(security=fund)
    assert row.previous_close == D("2.755")
    assert row.step == (D("2.755") / D("2.700")).quantize(D("1e-20"))


def test_bars_after_the_last_event_need_no_recomputation():
    fund = add_fund("510050", "XSHG", DIVIDEND_BARS)
    add_event(fund, DIVIDEND_DAY, "cash", cash="0.055")
    assert funds_needing_factors([(fund.pk, DIVIDEND_DAY)]) == set()
    assert funds_needing_factors([(fund.pk, DIVIDEND_DAY - dt.timedelta(days=3))]) == {fund.pk}
