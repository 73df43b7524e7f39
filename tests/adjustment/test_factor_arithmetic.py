"""Factor arithmetic against hand-worked values (no database)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from etfs.adjustment import EventDay, combine_events, factor_rows, step_factor

DAY = dt.date(2024, 12, 2)


def test_a_split_steps_by_its_ratio_whatever_the_price():
    assert step_factor(None, D(0), D(2)) == 2
    assert step_factor(D("1.2450"), D(0), D(2)) == 2


def test_a_cash_dividend_steps_by_p_over_p_minus_c():
    # 510050-like: close 2.750 before the ex-date, 0.055 a unit paid.
    step = step_factor(D("2.750"), D("0.055"), D(1))
    # 2.750 / 2.695 = 1 / 0.98 = 1.0204081632653061224489795918367346938775510204...
    assert str(step).startswith("1.02040816326530612244897959183673469387")
    # The reference price the step implies is P - c, exactly.
    assert (D("2.750") / step).quantize(D("1e-20")) == D("2.695")


def test_a_hundred_to_one_conversion_steps_by_a_hundredth():
    assert step_factor(D("1.0000"), D(0), D("0.01")) == D("0.01")


def test_cash_and_a_split_on_one_day_use_the_reference_price():
    # (P - c) / r = (2.2 - 0.2) / 2 = 1.0 -> step 2.2
    assert step_factor(D("2.2"), D("0.2"), D(2)) == D("2.2")


@pytest.mark.parametrize(
    ("close", "cash", "ratio", "reason"),
    [
        (None, D("0.1"), D(1), "no stored close"),
        (D("0.1"), D("0.1"), D(1), "not below the previous close"),
        (D("1"), D(0), D(0), "not positive"),
    ],
)
def test_steps_that_cannot_be_computed_say_why(close, cash, ratio, reason):
    with pytest.raises(ValueError, match=reason):
        step_factor(close, cash, ratio)


def test_cumulative_factors_multiply_the_steps_and_chain_the_periods():
    days = [
        EventDay(dt.date(2020, 1, 6), cash=D("0.5")),  # P 2.5 -> step 1.25
        EventDay(dt.date(2022, 3, 29), ratio=D(2)),  # split -> step 2
        EventDay(dt.date(2025, 1, 17), ratio=D("0.01")),  # 100-to-1 -> step 0.01
    ]
    closes = {dt.date(2020, 1, 6): D("2.5"), dt.date(2022, 3, 29): D("3.0")}
    rows, problems = factor_rows(days, closes.get)
    assert problems == []
    assert [row.step for row in rows] == [D("1.25"), D(2), D("0.01")]
    assert [row.hfq_factor for row in rows] == [D("1.25"), D("2.5"), D("0.025")]
    assert [row.split_factor for row in rows] == [D(1), D(2), D("0.02")]
    assert [row.valid_until for row in rows] == [dt.date(2022, 3, 29), dt.date(2025, 1, 17), None]


def test_an_unpriced_cash_event_keeps_factor_one_and_is_reported():
    rows, problems = factor_rows([EventDay(DAY, cash=D("0.05"))], lambda day: None)
    assert rows[0].step == 1 and rows[0].hfq_factor == 1
    assert problems == [
        f"{DAY}: no stored close before the ex-date to price the cash against; factor 1 used"
    ]


def test_events_of_one_day_are_combined():
    days = combine_events(
        [(DAY, D("0.1"), D(1)), (DAY, D(0), D(2)), (DAY + dt.timedelta(1), D(0), D(3))]
    )
    assert days == [EventDay(DAY, D("0.1"), D(2)), EventDay(DAY + dt.timedelta(1), D(0), D(3))]
