"""The Eastmoney parsers: payloads in, plain records or a clear ProviderDataError out.

No database, no network: recorded answers (tests/payloads, copied from shared/payloads) and small
hand-written ones in the documented format (shared/providers.md sections 1 and 2).
"""

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from etfs.providers.base import XSHE, XSHG, ProviderDataError
from etfs.providers.eastmoney.clist import parse_list_page
from etfs.providers.eastmoney.klines import parse_index_days, parse_kline_response

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"
RECORDED_LIST = PAYLOADS / "eastmoney_clist_stock_gainers_pn1_pz5_2026-09-14.json"
RECORDED_KLINES = PAYLOADS / "eastmoney_kline_stock_601872_fqt1_2024-12-18_2024-12-31.json"
RECORDED_KLINE_ERROR = PAYLOADS / "eastmoney_kline_error_rc100_data_null.json"
DAY = r"\d{4}-\d{2}-\d{2}"


def load(text: str | Path):
    """Decode as the HTTP client does: fractions as exact Decimals."""
    if isinstance(text, Path):
        text = text.read_text(encoding="utf-8")
    return json.loads(text, parse_float=Decimal)


def list_answer(rows, total=None) -> dict:
    return {
        "rc": 0,
        "rt": 6,
        "svr": 181670098,
        "lt": 1,
        "full": 1,
        "dlmkts": "",
        "dsc": "0",
        "data": {"total": len(rows) if total is None else total, "diff": rows},
    }


def list_row(**overrides) -> dict:
    row = {
        "f12": "510300",
        "f13": 1,
        "f14": "沪深300ETF",
        "f2": 3.991,
        "f5": 1234567,
        "f6": 4923456789.12,
        "f15": 4.012,
        "f16": 3.950,
        "f17": 3.960,
        "f18": 3.970,
        "f124": 1726297200,
        "f297": 20240913,
    }
    row.update(overrides)
    return row


def wire(payload: dict):
    """The payload as the client sees it after a round trip through JSON."""
    return load(json.dumps(payload, ensure_ascii=False))


def kline_answer(lines, code="510300", market=1) -> dict:
    return {
        "rc": 0,
        "rt": 17,
        "svr": 183641822,
        "lt": 1,
        "full": 0,
        "dlmkts": "",
        "dsc": "0",
        "data": {
            "code": code,
            "market": market,
            "name": "沪深300ETF",
            "decimal": 3,
            "dktotal": len(lines),
            "klines": lines,
        },
    }


def kline(day="2024-01-02", open_="3.500", close="3.480", high="3.510", low="3.470", lots="1234"):
    amount = "430000.00"
    return f"{day},{open_},{close},{high},{low},{lots},{amount},1.14,-0.57,-0.020,0.58"


# --- the ETF list ------------------------------------------------------------------------------


class TestRecordedListPage:
    """A real clist page (stocks, pz=5); it was requested without f13, the market id."""

    def test_total_is_the_reported_count_not_the_page_size(self):
        page = parse_list_page(load(RECORDED_LIST))

        assert page.total == 5915
        assert page.raw_rows == 5

    def test_every_row_lacks_the_market_id_so_every_row_is_a_problem(self):
        page = parse_list_page(load(RECORDED_LIST))

        assert page.listings == []
        assert [problem.code for problem in page.problems] == [
            "688004",
            "301662",
            "300905",
            "688216",
            "920200",
        ]
        for problem in page.problems:
            assert problem.fatal
            assert "unknown market id (f13) None" in problem.message
            assert problem.code in problem.message
            assert "博汇科技" in page.problems[0].row

    def test_a_rejected_row_is_shown_as_the_source_sent_it(self):
        """JSON, as the answer had it; not a Python object dump ({'f12': ...})."""
        page = parse_list_page(load(RECORDED_LIST))

        row = page.problems[0].row
        assert row.startswith("{") and json.loads(row)["f12"] == "688004"
        assert "'f12'" not in row


class TestListPage:
    def test_a_full_row_becomes_a_listing_with_converted_units(self):
        page = parse_list_page(wire(list_answer([list_row()])))

        assert page.problems == []
        assert page.total == 1
        [listing] = page.listings
        assert listing.code == "510300"
        assert listing.exchange == XSHG
        assert listing.name == "沪深300ETF"
        assert listing.close == Decimal("3.991")
        assert (listing.open, listing.high, listing.low) == (
            Decimal("3.960"),
            Decimal("4.012"),
            Decimal("3.950"),
        )
        assert listing.previous_close == Decimal("3.970")
        assert listing.volume == 123456700  # 1,234,567 lots of 100 shares
        assert listing.amount == Decimal("4923456789.12")
        assert listing.data_date == dt.date(2024, 9, 13)
        assert listing.updated_at == dt.datetime(2024, 9, 14, 7, 0, tzinfo=dt.UTC)

    def test_placeholders_become_none(self):
        row = list_row(f2="-", f5="-", f6="-", f15="-", f16="-", f17="-", f18="-", f297="-")

        [listing] = parse_list_page(wire(list_answer([row]))).listings

        assert listing.code == "510300"
        assert listing.open is listing.high is listing.low is listing.close is None
        assert listing.previous_close is None
        assert listing.volume is None
        assert listing.amount is None
        assert listing.data_date is None

    @pytest.mark.parametrize(
        ("code", "market", "exchange"),
        [
            ("510300", 1, XSHG),
            ("159915", 0, XSHE),
            # The exchange comes from f13, never from the code prefix.
            ("159915", 1, XSHG),
            ("510300", 0, XSHE),
        ],
    )
    def test_exchange_comes_from_the_market_id(self, code, market, exchange):
        [listing] = parse_list_page(wire(list_answer([list_row(f12=code, f13=market)]))).listings

        assert (listing.code, listing.exchange) == (code, exchange)

    def test_a_bad_row_is_a_problem_and_the_other_rows_are_kept(self):
        rows = [
            list_row(f12="510300"),
            list_row(f12="15991", f14="five digits"),
            list_row(f12="510500", f13=2),
            list_row(f12="159919", f13=0),
        ]

        page = parse_list_page(wire(list_answer(rows)))

        assert [listing.code for listing in page.listings] == ["510300", "159919"]
        assert page.raw_rows == 4
        short, unknown = page.problems
        assert "'15991' is not six ASCII digits" in short.message
        assert short.code == "15991"
        assert "unknown market id (f13) 2" in unknown.message
        assert unknown.code == "510500"

    def test_full_width_digits_and_a_code_twice_in_one_answer_are_rows_of_their_own(self):
        rows = [
            list_row(f12="５１０３００"),
            list_row(f12="510300", f14="first"),
            list_row(f12="510300", f14="second"),
            list_row(f12="510300", f13=0, f14="the same code on the other exchange"),
        ]

        page = parse_list_page(wire(list_answer(rows)))

        assert [(item.code, item.exchange, item.name) for item in page.listings] == [
            ("510300", XSHG, "first"),
            ("510300", XSHE, "the same code on the other exchange"),
        ]
        full_width, twice = page.problems
        assert "'５１０３００' is not six ASCII digits" in full_width.message
        assert "510300: listed twice in one answer; the first row was kept" in twice.message
        assert twice.fatal

    def test_a_row_without_a_name_is_a_problem(self):
        page = parse_list_page(wire(list_answer([list_row(f14="-")])))

        assert page.listings == []
        assert "name (f14) missing" in page.problems[0].message

    def test_data_null_means_nothing_matches(self):
        page = parse_list_page(wire({"rc": 0, "rt": 6, "data": None}))

        assert page.total == 0
        assert page.listings == []
        assert page.problems == []

    def test_diff_as_an_object_is_refused(self):
        # What the server sends without np=1; we ask for a list, so this is not our answer.
        answer = list_answer([])
        answer["data"]["diff"] = {"0": list_row(), "1": list_row(f12="510500")}
        answer["data"]["total"] = 2

        with pytest.raises(ProviderDataError) as caught:
            parse_list_page(wire(answer))

        assert "'data.diff' is an object" in str(caught.value)
        assert "np=1" in str(caught.value)

    def test_missing_total_is_refused(self):
        answer = list_answer([list_row()])
        del answer["data"]["total"]

        with pytest.raises(ProviderDataError, match=r"'data\.total' is None"):
            parse_list_page(wire(answer))

    def test_an_error_code_is_refused(self):
        answer = {**list_answer([list_row()]), "rc": 102}

        with pytest.raises(ProviderDataError, match="rc=102"):
            parse_list_page(wire(answer))

    @pytest.mark.parametrize("payload", [[], "captcha", None, 3])
    def test_an_answer_that_is_not_an_object_is_refused(self, payload):
        with pytest.raises(ProviderDataError, match="expected an object"):
            parse_list_page(payload)

    def test_an_answer_without_data_is_refused(self):
        with pytest.raises(ProviderDataError, match="no 'data' field"):
            parse_list_page({"rc": 0})

    def test_a_negative_price_is_a_row_problem(self):
        """The price is the quote's, which the list does not need (issue 23 item 4): the fund
        stays listed, its whole quote is left out (its bar comes from the k-lines), and the
        problem is a warning on the row."""
        page = parse_list_page(wire(list_answer([list_row(f2=-3.99), list_row(f12="510500")])))

        assert [listing.code for listing in page.listings] == ["510300", "510500"]
        assert page.listings[0].close is page.listings[0].open is None
        assert "last price (f2) is negative" in page.problems[0].message
        assert not page.problems[0].fatal


# --- daily k-lines -----------------------------------------------------------------------------


class TestRecordedKlines:
    """A real forward-adjusted (fqt=1) answer for the stock 601872: ten trading days."""

    def parse(self):
        return parse_kline_response(load(RECORDED_KLINES), code="601872", exchange=XSHG)

    def test_ten_bars_in_date_order(self):
        series = self.parse()

        assert (series.code, series.exchange) == ("601872", XSHG)
        assert len(series.bars) == 10
        assert series.bars[0].trade_date == dt.date(2024, 12, 18)
        assert series.bars[-1].trade_date == dt.date(2024, 12, 31)

    def test_columns_are_open_close_high_low_and_volume_is_in_shares(self):
        first = self.parse().bars[0]

        assert first.open == Decimal("6.11")
        assert first.close == Decimal("6.18")
        assert first.high == Decimal("6.28")
        assert first.low == Decimal("6.10")
        assert first.volume == 84274300  # 842743 lots
        assert first.amount == Decimal("542829495.00")
        assert isinstance(first.amount, Decimal)

    def test_adjusted_prices_with_unadjusted_amounts_are_flagged_as_warnings(self):
        # amount / volume is an unadjusted price; against adjusted highs it lies too high.
        series = self.parse()

        assert series.problems, "the forward-adjusted answer should trip the unit check"
        assert all(not problem.fatal for problem in series.problems)
        assert all("suspicious units" in problem.message for problem in series.problems)
        flagged = [re.search(DAY, problem.message).group() for problem in series.problems]
        # Within the 3 % rounding tolerance on the other days; these three lie beyond it.
        assert flagged == ["2024-12-23", "2024-12-27", "2024-12-30"]
        assert len(series.bars) == 10, "warnings keep the bars"

    def test_the_recorded_error_answer_is_refused(self):
        with pytest.raises(ProviderDataError, match="rc=100"):
            parse_kline_response(load(RECORDED_KLINE_ERROR), code="601872", exchange=XSHG)


class TestKlines:
    def parse(self, lines, today=None, **answer):
        return parse_kline_response(
            wire(kline_answer(lines, **answer)), code="510300", exchange=XSHG, today=today
        )

    def test_a_clean_bar_passes_without_problems(self):
        series = self.parse([kline(lots="1234")])

        [bar] = series.bars
        assert bar.volume == 123400
        assert series.problems == []

    def test_empty_klines_are_an_empty_series(self):
        series = self.parse([])

        assert series.bars == []
        assert series.problems == []

    def test_data_null_is_an_unknown_security(self):
        with pytest.raises(ProviderDataError, match="knows no such security"):
            parse_kline_response({"rc": 0, "data": None}, code="510300", exchange=XSHG)

    def test_an_answer_for_another_code_is_refused(self):
        with pytest.raises(ProviderDataError, match="for code '510500'"):
            self.parse([kline()], code="510500")

    def test_an_answer_for_another_market_is_refused(self):
        with pytest.raises(ProviderDataError, match="market 0"):
            self.parse([kline()], market=0)

    @pytest.mark.parametrize(
        ("line", "reason"),
        [
            (kline(high="3.490"), "high 3.490 is below open/close 3.500"),
            (kline(low="3.485"), "low 3.485 is above open/close 3.480"),
            (kline(lots="-5"), "negative volume"),
            (kline(open_="-"), "open is a placeholder '-'"),
            (kline(close="0"), "close is a placeholder '0'"),
            (kline(day="2024-13-01"), "bad date '2024-13-01'"),
            ("2024-01-02,3.500,3.480", "has 3 fields"),
        ],
    )
    def test_an_impossible_bar_is_a_problem_and_the_others_are_kept(self, line, reason):
        good_before = kline(day="2024-01-02")
        good_after = kline(day="2024-01-04")

        series = self.parse([good_before, line.replace("2024-01-02", "2024-01-03", 1), good_after])

        assert [bar.trade_date.day for bar in series.bars] == [2, 4]
        [problem] = series.problems
        assert reason in problem.message
        assert problem.fatal
        assert problem.code == "510300"

    @pytest.mark.parametrize(("lots", "shares"), [("12.5", 1250), ("12.345", 1235)])
    def test_a_fraction_of_a_lot_keeps_the_bar_rounded_with_a_warning(self, lots, shares):
        line = kline(day="2024-01-03", lots=lots)
        series = self.parse([kline(day="2024-01-02"), line])

        assert [bar.volume for bar in series.bars][1] == shares
        [problem] = [problem for problem in series.problems if "lots" in problem.message]
        assert problem.message == (
            f"k-lines 510300 2024-01-03: volume {lots} is not a whole number of lots; stored "
            f"as {shares} shares (rounded half up)"
        )
        assert not problem.fatal and problem.row == line

    def test_a_bar_after_today_is_refused(self):
        lines = [kline(day="2024-01-02"), kline(day="2024-01-03")]

        series = self.parse(lines, today=dt.date(2024, 1, 2))

        assert [bar.trade_date for bar in series.bars] == [dt.date(2024, 1, 2)]
        [problem] = series.problems
        assert "2024-01-03" in problem.message
        assert "in the future (today is 2024-01-02)" in problem.message

    def test_a_date_given_twice_drops_both_copies(self):
        lines = [kline(day="2024-01-02"), kline(day="2024-01-03"), kline(day="2024-01-03")]

        series = self.parse(lines)

        assert [bar.trade_date for bar in series.bars] == [dt.date(2024, 1, 2)]
        [problem] = series.problems
        assert "2024-01-03: date appears 2 times" in problem.message

    def test_amounts_stay_exact_decimals(self):
        line = "2024-01-02,3.500,3.480,3.510,3.470,1234,431234.57,1.14,-0.57,-0.020,0.58"

        [bar] = self.parse([line]).bars

        assert bar.amount == Decimal("431234.57")
        assert bar.open == Decimal("3.500")


def index_answer(lines, **data) -> dict:
    """An SSE Composite answer as providers.md section 5 describes it (decimal 2)."""
    body = {"code": "000001", "market": 1, "name": "上证指数", "decimal": 2}
    body.update({"dktotal": len(lines or ()), "klines": lines, **data})
    return {"rc": 0, "rt": 17, "svr": 1, "lt": 1, "full": 0, "dlmkts": "", "data": body}


def index_line(day: str) -> str:
    return f"{day},3300.12,3310.45,3320.00,3290.01,312345678,401234567890.12,0.91,0.32,10.33,0.71"


class TestIndexDays:
    def test_the_dates_of_the_bars_sorted(self):
        lines = [index_line("2027-01-05"), index_line("2027-01-04")]

        assert parse_index_days(load(json.dumps(index_answer(lines)))) == [
            dt.date(2027, 1, 4),
            dt.date(2027, 1, 5),
        ]

    def test_no_rows_is_a_fault_not_a_market_without_trading(self):
        with pytest.raises(ProviderDataError, match="has no rows .dktotal 0."):
            parse_index_days(index_answer([]))

    @pytest.mark.parametrize(
        ("answer", "message"),
        [
            ({"rc": 102, "data": None}, "rc=102"),
            ({"rc": 0, "data": None}, "expected an object"),
            (index_answer([index_line("2027-01-04")], code="000300"), "for code '000300'"),
            (index_answer([index_line("2027-01-04")] * 2), "more than once"),
            (index_answer(["2027-01-04,abc"]), "fields"),
            (index_answer(None), "'klines' is None"),
        ],
    )
    def test_a_doubtful_answer_fails_whole(self, answer, message):
        with pytest.raises(ProviderDataError, match=message):
            parse_index_days(answer)
