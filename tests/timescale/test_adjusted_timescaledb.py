"""Adjusted bars on TimescaleDB: the factor join reads compressed chunks and leaves them be."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from etfs.models import DailyBar
from etfs.sync.factors import recompute_factors
from tests.adjustment.history import (
    DIVIDEND_BARS,
    DIVIDEND_DAY,
    DIVIDEND_HFQ,
    DIVIDEND_QFQ,
    SPLIT_BARS,
    SPLIT_DAY,
    SPLIT_HFQ,
    SPLIT_QFQ,
    add_event,
    add_fund,
    as_table,
)
from tests.timescale.test_timescaledb import chunk_holding, compress_all_chunks

pytestmark = [pytest.mark.timescaledb, pytest.mark.django_db]


def test_adjusted_bars_on_compressed_chunks_and_a_new_event_leaves_them_compressed():
    split_fund = add_fund("513500", "XSHG", SPLIT_BARS)
    dividend_fund = add_fund("510050", "XSHG", DIVIDEND_BARS)
    add_event(dividend_fund, DIVIDEND_DAY, "cash", cash="0.055")
    recompute_factors([dividend_fund.pk])
    compress_all_chunks()
    assert chunk_holding(SPLIT_DAY)[1] is True
    stored = list(DailyBar.objects.order_by("id").values_list("id", "close"))

    add_event(split_fund, SPLIT_DAY, "split", ratio="2")
    recompute_factors([split_fund.pk])

    assert chunk_holding(SPLIT_DAY)[1] is True  # the bars' chunk was not touched
    assert list(DailyBar.objects.order_by("id").values_list("id", "close")) == stored
    bars = DailyBar.objects.filter(security=split_fund)
    assert as_table(bars.adjusted("hfq")) == SPLIT_HFQ
    assert as_table(bars.adjusted("qfq")) == SPLIT_QFQ
    dividend_bars = DailyBar.objects.filter(security=dividend_fund)
    assert as_table(dividend_bars.adjusted("hfq")) == DIVIDEND_HFQ
    assert as_table(dividend_bars.adjusted("qfq")) == DIVIDEND_QFQ
    # time_bucket with first()/last() over the adjusted values.
    (week,) = bars.filter(trade_date__year=2022).adjusted("qfq").resampled("week")
    assert week["period_start"] == dt.date(2022, 3, 28)
    assert (week["open"], week["high"], week["close"], week["volume"]) == (
        D("1.2500"),
        D("1.2620"),
        D("1.2550"),
        D("4000000.0000"),
    )
