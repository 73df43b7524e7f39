"""A price run's summary names its warnings by kind, each with its count."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine

from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests.sync.test_corporate_actions import LAST_EVENING

pytestmark = pytest.mark.django_db


def test_the_summary_names_each_kind_of_warning_with_its_count(fake):
    split_fund, dividend_fund = fake.funds.values()
    # 513500's split is not listed: its move warns. A fraction of a lot, and an amount in
    # thousands of yuan (suspicious units), on the dividend fund's bars.
    first, second = dividend_fund.bars[:2]
    dividend_fund.bars[0] = dataclasses.replace(first, lots=D("50000.5"))
    dividend_fund.bars[1] = dataclasses.replace(second, amount=second.amount / 1000)
    sync_etf_lists()

    with time_machine.travel(LAST_EVENING, tick=False):
        run = sync_etf_prices(PriceOptions(start=dt.date(2024, 3, 1)))

    assert run.status == "succeeded", run.error_summary
    notes = run.error_summary.split("; ")
    assert "1 warning(s) about a price move no corporate action explains" in notes
    assert "1 warning(s) about a volume in fractions of a lot" in notes
    assert "1 warning(s) about suspicious units" in notes
    assert run.warnings == 3
