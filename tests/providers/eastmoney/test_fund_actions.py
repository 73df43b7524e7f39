"""Parsing the fund data host's dividend (dt=8) and split (dt=9) lists: pure, no network."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from etfs.providers.base import CASH, CONVERSION, SPLIT, ProviderDataError
from etfs.providers.eastmoney.fund_actions import (
    DIVIDENDS,
    SPLITS,
    parse_action_page,
    parse_cash_per_unit,
    parse_js_variables,
    parse_split_row,
)

# The crawler's comment in shared/payloads (comment_eastmoney_funddataIndex_dt8_2014_...).
DIVIDEND_PAGE = """var pageinfo =[74, 100, 1];//totalPages-74; countPerPage-100; currentPage-1.
var jjfh_data=[["000005","嘉实增强信用定期债券","2014-12-24","2014-12-24","0.0212","2014-12-25"],
                ["002021","华夏回报二号混合","2014-12-23","2014-12-23","0.0275","2014-12-24"]];
var jjfh_jjgs=["中邮创业基金","中邮创业","中银基金"];
var jjfh_year=["2015","2014"];
var jjfh_ftype=["债券指数","债券型"];"""


def split_page(rows: str, pages: int = 1, page: int = 1) -> str:
    return (
        f"var pageinfo=[{pages},100,{page}];var jjcf_data=[{rows}];"
        'var jjcf_jjgs=["华宝基金"];var jjcf_year=["2025","2024"];'
    )


def test_the_recorded_dividend_page_shape():
    page = parse_action_page(DIVIDEND_PAGE, DIVIDENDS)
    assert (page.total_pages, page.page, page.raw_rows, page.problems) == (74, 1, 2, [])
    first = page.actions[0]
    assert (first.code, first.kind, first.cash, first.ratio) == ("000005", CASH, D("0.0212"), 1)
    assert (first.record_date, first.ex_date, first.pay_date) == (
        dt.date(2014, 12, 24),
        dt.date(2014, 12, 24),
        dt.date(2014, 12, 25),
    )
    assert first.name == "嘉实增强信用定期债券"
    assert '"0.0212"' in first.row


@pytest.mark.parametrize(
    "row",
    [
        '["159220","华宝标普港股通低波红利ETF","2025-11-07","份额分拆","2.000000"]',
        '["159220","华宝标普港股通低波红利ETF","2025-11-07","2.000000","份额分拆"]',
        '["159220","华宝标普港股通低波红利ETF","2025-11-07","份额分拆","2.000000","1"]',
        '["159220","华宝标普港股通低波红利ETF","2025-11-07","1:2","份额分拆"]',
    ],
    ids=["type-then-ratio", "ratio-then-type", "trailing-flag", "ratio-as-pair"],
)
def test_split_rows_are_read_by_content_in_either_column_order(row):
    (action,) = parse_action_page(split_page(row), SPLITS).actions
    assert (action.code, action.ex_date, action.kind) == ("159220", dt.date(2025, 11, 7), SPLIT)
    assert (action.ratio, action.cash) == (2, 0)


def test_a_hundred_to_one_conversion_and_a_merge():
    rows = (
        '["511110","易方达上证基准做市公司债ETF","2025-01-17","份额折算","0.010000"],'
        '["510310","易方达沪深300ETF发起式","2024-09-20","0.49977589","份额合并"]'
    )
    actions = parse_action_page(split_page(rows), SPLITS).actions
    assert [(a.code, a.kind, a.ratio) for a in actions] == [
        ("511110", CONVERSION, D("0.010000")),
        ("510310", CONVERSION, D("0.49977589")),
    ]


@pytest.mark.parametrize(
    ("text", "per_unit"),
    [
        ("0.0212", D("0.0212")),
        ("每份派现金0.0212元", D("0.0212")),
        ("每10份派现金0.8000元", D("0.08")),
        ("每 10 份派现金 0.5500 元", D("0.055")),
    ],
)
def test_cash_is_stored_per_unit_whether_given_per_unit_or_per_ten(text, per_unit):
    assert parse_cash_per_unit(text, "row") == per_unit


@pytest.mark.parametrize(
    "text", ["每10份派现金-0.8000元", "每份派现金 - 0.0212元", "每10份派现金−0.8元"]
)
def test_a_negative_cash_text_is_rejected(text):
    with pytest.raises(ProviderDataError, match="is negative"):
        parse_cash_per_unit(text, "row")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('["510050","50ETF","2025-01-02","2025-01-03","12000000000","2025-01-06"]', "cash"),
        ('["510050","50ETF","2025-01-02","2025-01-03","每10份派现金-0.8000元",""]', "negative"),
    ],
)
def test_dividend_rows_beyond_the_limits_are_rejected_with_a_message(row, message):
    body = f"var pageinfo=[1,100,1];var jjfh_data=[{row}];"
    page = parse_action_page(body, DIVIDENDS)
    assert page.actions == []
    (problem,) = page.problems
    assert message in problem.message and problem.code == "510050"


@pytest.mark.parametrize("ratio", ["100000000", "0.00000000001"])
def test_split_ratios_beyond_the_limits_are_rejected_with_a_message(ratio):
    row = f'["159220","ETF","2025-11-07","份额分拆","{ratio}"]'
    page = parse_action_page(split_page(row), SPLITS)
    assert page.actions == []
    (problem,) = page.problems
    assert "outside [0.0001, 10000]" in problem.message


def test_an_empty_year_has_no_rows():
    page = parse_action_page("var pageinfo=[0,100,1];var jjfh_data=[];", DIVIDENDS)
    assert (page.total_pages, page.actions, page.raw_rows) == (0, [], 0)


def test_a_short_last_page():
    row = '["159583","富国中证通信设备主题ETF","2025-11-05","份额分拆","2.000000"]'
    page = parse_action_page(split_page(row, pages=3, page=3), SPLITS)
    assert (page.total_pages, page.page, len(page.actions)) == (3, 3, 1)


def test_bad_rows_are_rejected_alone():
    rows = (
        '["５１００００","全角","2025-01-02","份额分拆","2"],'
        '["159220","无日期","","份额分拆","2"],'
        '["159221","无类型","2025-01-02","2","2"],'
        '["159222","好","2025-01-02","份额分拆","2"]'
    )
    page = parse_action_page(split_page(rows), SPLITS)
    assert [action.code for action in page.actions] == ["159222"]
    messages = [problem.message for problem in page.problems]
    assert "not six ASCII digits" in messages[0]
    assert "no split date" in messages[1]
    assert "no split or conversion type" in messages[2]


def test_a_dividend_row_with_zero_cash_is_rejected():
    row = '["510050","50ETF","2025-01-02","2025-01-03","0","2025-01-06"]'
    body = f"var pageinfo=[1,100,1];var jjfh_data=[{row}];"
    (problem,) = parse_action_page(body, DIVIDENDS).problems
    assert "not positive" in problem.message and problem.code == "510050"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("var jjfh_data=[];", "pageinfo"),
        ("var pageinfo=[1,100,1];", "no `var jjfh_data`"),
        ("var pageinfo=[1,100,1];var jjfh_data={};", "not a list"),
        ("<html>", "pageinfo"),
    ],
)
def test_a_page_that_is_not_the_answer_asked_for_says_what_is_wrong(body, message):
    with pytest.raises(ProviderDataError, match=message):
        parse_action_page(body, DIVIDENDS)


def test_variables_are_read_as_data_never_run():
    text = 'var a = [1, "var b = 2;"]; var c = alert(1); var d = {"x": 0.5};//var e=[9]'
    assert parse_js_variables(text) == {"a": [1, "var b = 2;"], "d": {"x": D("0.5")}}


def test_a_split_row_with_two_ratios_is_refused():
    with pytest.raises(ProviderDataError, match="no split or conversion type"):
        parse_split_row(["159220", "x", "2025-11-07", "2", "2"])


def test_a_number_too_long_for_python_rejects_its_row_alone():
    huge = "1" + "0" * 5000
    text = (
        "var pageinfo =[1, 100, 1];\n"
        f'var jjfh_data=[[{huge},"x","2024-01-02","2024-01-02","0.01",""],'
        '["510300","沪深300ETF","2024-06-03","2024-06-03","0.0100","2024-06-05"]];\n'
    )

    page = parse_action_page(text, DIVIDENDS)

    assert [action.code for action in page.actions] == ["510300"]
    assert len(page.problems) == 1
