"""Any value of any JSON type in any field of an Eastmoney answer: the row is kept (a bad
optional field is a warning on it) or rejected alone with a message, never a crash.

Issue 23 items 4 and 5: ``f297 = "garbage"`` on every row rejected every fund; ``f297 = []``
(also ``f124``, ``f13``) raised ``TypeError: unhashable type: 'list'`` and killed the runs.
"""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etfs.providers.base import XSHG, ProviderDataError
from etfs.providers.eastmoney.clist import bar_from_listing, parse_list_page
from etfs.providers.eastmoney.klines import parse_index_days, parse_kline_response
from tests.providers.eastmoney.answers import kline, kline_answer, list_answer, list_row, wire

# Every field the list request asks for (LIST_FIELDS) and the stock list's listing date.
REQUIRED_FIELDS = ("f12", "f13", "f14")
OPTIONAL_FIELDS = ("f2", "f5", "f6", "f15", "f16", "f17", "f18", "f124", "f297", "f26")
ODD_VALUES = [
    [],
    {},
    [1, 2],
    {"a": 1},
    1.5,
    Decimal("1e999999999"),
    Decimal("-1e-999999999"),
    10**5000,
    -1,
    True,
    None,
    "",
    "garbage",
    "１２",
    float("nan"),
    float("inf"),
]
# What json.loads(parse_float=Decimal) can hand a parser, nested.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**30, max_value=10**60)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.floats()
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)


def parse_with(field: str, value) -> tuple[list, list]:
    page = parse_list_page(list_answer([list_row(**{field: value}), list_row(f12="159915")]))
    return page.listings, page.problems


class TestListRows:
    @pytest.mark.parametrize("field", OPTIONAL_FIELDS)
    @pytest.mark.parametrize("value", ODD_VALUES, ids=lambda value: type(value).__name__)
    def test_a_bad_optional_field_is_a_warning_and_the_fund_is_kept(self, field, value):
        listings, problems = parse_with(field, value)

        assert [item.code for item in listings] == ["510300", "159915"]
        assert all(not problem.fatal for problem in problems)
        assert all(problem.code == "510300" for problem in problems)

    @pytest.mark.parametrize("field", REQUIRED_FIELDS)
    @pytest.mark.parametrize("value", ODD_VALUES, ids=lambda value: type(value).__name__)
    def test_a_bad_code_market_or_name_rejects_that_row_alone(self, field, value):
        listings, problems = parse_with(field, value)

        assert [item.code for item in listings][-1] == "159915"
        assert len(listings) == 1 or listings[0].code != "159915"
        assert all(isinstance(problem.message, str) for problem in problems)

    def test_garbage_in_the_data_date_keeps_the_fund_and_drops_its_quote(self):
        listings, [warning] = parse_with("f297", "garbage")

        fund = listings[0]
        assert (fund.code, fund.exchange, fund.name) == ("510300", XSHG, "沪深300ETF")
        assert fund.close is fund.data_date is fund.volume is None  # no half-read quote
        assert not warning.fatal
        assert warning.message == (
            "ETF list row 510300: data date (f297) 'garbage' is not YYYYMMDD; "
            "the row's quote is left out"
        )
        assert bar_from_listing(fund, dt.date(2024, 9, 13)) is None  # its bar: the k-lines'

    @pytest.mark.parametrize("field", ["f297", "f124", "f13"])
    def test_a_list_in_a_field_is_a_message_not_a_type_error(self, field):
        listings, problems = parse_with(field, [])

        assert "[]" in problems[0].message
        assert listings[-1].code == "159915"

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(field=st.sampled_from(REQUIRED_FIELDS + OPTIONAL_FIELDS), value=JSON_VALUES)
    def test_any_json_value_in_any_field_touches_that_row_alone(self, field, value):
        listings, problems = parse_with(field, value)

        assert listings[-1].code == "159915"
        assert len(listings) + sum(problem.fatal for problem in problems) == 2
        if field in OPTIONAL_FIELDS:
            assert listings[0].code == "510300"

    @settings(max_examples=200, deadline=None)
    @given(row=JSON_VALUES)
    def test_any_json_value_as_a_row_is_that_rows_problem(self, row):
        page = parse_list_page(list_answer([row, list_row(f12="159915")]))

        assert page.listings[-1].code == "159915"

    def test_the_values_survive_the_http_decoding_too(self):
        """The same odd values after a round trip through the wire's JSON."""
        for value in ([], {}, 1.5, 10**30, "garbage"):
            answer = wire(list_answer([list_row(f297=value, f124=value), list_row(f12="159915")]))
            page = parse_list_page(answer)
            assert [item.code for item in page.listings] == ["510300", "159915"]


class TestKlineAnswers:
    @settings(max_examples=300, deadline=None)
    @given(line=JSON_VALUES)
    def test_any_json_value_as_a_kline_rejects_that_line_alone(self, line):
        series = parse_kline_response(
            kline_answer([kline("2024-01-02"), line]), code="510300", exchange=XSHG
        )

        assert [bar.trade_date for bar in series.bars] == [dt.date(2024, 1, 2)]
        assert len(series.problems) >= 1

    @settings(max_examples=200, deadline=None)
    @given(
        key=st.sampled_from(["code", "market", "klines", "decimal", "dktotal"]), value=JSON_VALUES
    )
    def test_any_json_value_in_the_envelope_is_a_data_error_or_nothing(self, key, value):
        answer = kline_answer([kline("2024-01-02")])
        answer["data"][key] = value
        try:
            parse_kline_response(answer, code="510300", exchange=XSHG)
            parse_index_days({**answer, "data": {**answer["data"], "code": "000001"}})
        except ProviderDataError as exc:
            assert str(exc)

    @pytest.mark.parametrize("market", [[], {}, [1], 1.5])
    def test_an_unhashable_market_is_no_type_error(self, market):
        answer = kline_answer([kline("2024-01-02")], market=market)

        series = parse_kline_response(answer, code="510300", exchange=XSHG)

        assert len(series.bars) == 1

    @pytest.mark.parametrize("cell", ["1e999999999", "-1e-999999999", "9" * 5000])
    def test_a_number_beyond_any_range_rejects_its_line(self, cell):
        line = f"2024-01-03,{cell},3.480,3.510,3.470,1234,430000.00"

        series = parse_kline_response(
            kline_answer([kline("2024-01-02"), line]), code="510300", exchange=XSHG
        )

        assert len(series.bars) == 1
        assert series.problems[0].fatal


def test_json_constants_reach_no_parser_as_a_crash():
    """json.loads accepts NaN and Infinity by default; the parsers refuse them per value."""
    answer = json.loads(
        json.dumps(list_answer([list_row(f2=float("nan"), f5=float("inf"))])),
        parse_float=Decimal,
    )

    page = parse_list_page(answer)

    assert page.listings[0].close is None
    assert not page.problems[0].fatal
