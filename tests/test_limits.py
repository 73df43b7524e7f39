"""The limits every door checks (etfs.limits): pure functions, no database."""

import datetime as dt

import pytest

from etfs import limits

TODAY = dt.date(2026, 6, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("20240101", "'20240101' is not a date written YYYY-MM-DD"),
        ("2024-W01-1", "is not a date written YYYY-MM-DD"),
        ("２０２４-01-01", "is not a date written YYYY-MM-DD"),
        ("2024-02-30", "2024-02-30 is not a calendar date"),
        ("0001-01-01", "must be from 1990-01-01 to today (2026-06-01)"),
        ("1989-12-31", "must be from 1990-01-01 to today (2026-06-01)"),
        ("2026-06-02", "must be from 1990-01-01 to today (2026-06-01)"),
    ],
)
def test_parse_day_refuses(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        limits.parse_day(text, TODAY)


def test_parse_day_takes_the_first_and_the_last_allowed_days():
    assert limits.parse_day("1990-01-01", TODAY) == dt.date(1990, 1, 1)
    assert limits.parse_day("2026-06-01", TODAY) == TODAY


def test_input_quoted_back_is_cut_short():
    huge = "9" * 2_400_000

    for refusal in (
        lambda: limits.parse_day(huge, TODAY),
        lambda: limits.check_codes(["510300", huge]),
        lambda: limits.check_exchanges(["XSHG", huge]),
        lambda: limits.check_known_codes(("510300", huge), lambda codes: ["510300"]),
    ):
        with pytest.raises(ValueError) as raised:
            refusal()
        assert len(str(raised.value)) < 150, str(raised.value)[:200]


def test_codes_are_sorted_without_repeats_and_limited_in_number():
    assert limits.check_codes(["510300", "159915", "510300"]) == ("159915", "510300")
    with pytest.raises(ValueError, match="at most 2000 codes"):
        limits.check_codes(["510300"] * (limits.MAX_CODES + 1))
    with pytest.raises(ValueError, match="six ASCII digits"):
        limits.check_codes(["５１０３００"])


def test_start_years_and_windows():
    assert limits.check_start_year(1990, TODAY) == 1990
    for year in (1989, 2027):
        with pytest.raises(ValueError, match="from 1990 to 2026"):
            limits.check_start_year(year, TODAY)
    with pytest.raises(ValueError, match="2024-03-01 is after end 2024-01-01"):
        limits.check_date_range(dt.date(2024, 3, 1), dt.date(2024, 1, 1))
