"""parse_kline_response over ETF k-line answers written in the documented wire format.

shared/providers.md section 2: ``/api/qt/stock/kline/get`` for one fund, unadjusted (``fqt=0``);
each k-line is "date,open,close,high,low,volume(lots),amount(yuan),amplitude,change%,change,
turnover". Pure: no database, no network. Payloads are decoded as the HTTP client decodes them
(JSON fractions as exact Decimals), so nothing goes through a float.
"""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etfs.providers.base import XSHE, XSHG, ProviderDataError, bar_sanity_problem, unit_warnings
from etfs.providers.eastmoney.klines import parse_index_days, parse_kline, parse_kline_response
from tests.providers.eastmoney.answers import (
    DAY,
    RECORDED_KLINE_ERROR,
    RECORDED_KLINES,
    kline,
    kline_answer,
    load,
    wire,
)

CODE = "510300"
# Three days of 沪深300ETF: values made up, in the shape and units the source sends.
DAY_1 = "2024-01-02,3.500,3.480,3.510,3.470,1234567,430000000.00,1.14,-0.57,-0.020,0.58"
DAY_2 = "2024-01-03,3.480,3.999,4.012,3.475,2000000,760000000.55,15.43,14.91,0.519,0.94"
DAY_3 = "2024-01-04,3.999,3.950,4.001,3.940,987654,392000000.10,1.53,-1.23,-0.049,0.46"


def answer(klines, *, code=CODE, market=1, rc=0, name="沪深300ETF") -> object:
    """A whole answer, round-tripped through JSON as the client decodes it."""
    payload = {
        "rc": rc,
        "rt": 17,
        "svr": 181734976,
        "lt": 1,
        "full": 0,
        "dlmkts": "",
        "dsc": "0",
        "data": {
            "code": code,
            "market": market,
            "name": name,
            "decimal": 3,
            "dktotal": 4850,
            "klines": klines,
        },
    }
    return json.loads(json.dumps(payload, ensure_ascii=False), parse_float=Decimal)


def line(day, open_, close, high, low, lots, amount) -> str:
    return f"{day},{open_},{close},{high},{low},{lots},{amount},1.00,0.00,0.000,0.50"


def parse(payload, *, code=CODE, exchange=XSHG, today=None):
    return parse_kline_response(payload, code=code, exchange=exchange, today=today)


class TestGoodAnswer:
    def test_every_bar_is_kept_in_the_order_sent(self):
        series = parse(answer([DAY_1, DAY_2, DAY_3]))

        assert (series.code, series.exchange) == (CODE, XSHG)
        assert [bar.trade_date for bar in series.bars] == [
            dt.date(2024, 1, 2),
            dt.date(2024, 1, 3),
            dt.date(2024, 1, 4),
        ]
        assert series.problems == []

    def test_columns_are_open_close_high_low_in_that_order(self):
        bar = parse(answer([DAY_2])).bars[0]

        assert bar.open == Decimal("3.480")
        assert bar.close == Decimal("3.999")
        assert bar.high == Decimal("4.012")
        assert bar.low == Decimal("3.475")

    def test_prices_and_amounts_are_exact_decimals_never_floats(self):
        bar = parse(answer([DAY_2])).bars[0]

        for value in (bar.open, bar.close, bar.high, bar.low, bar.amount):
            assert type(value) is Decimal
        # Through a float, 3.999 would become 3.99900000000000011013412404281552881002426147…
        assert str(bar.close) == "3.999"
        assert str(bar.high) == "4.012"
        assert str(bar.amount) == "760000000.55"

    def test_volume_in_lots_becomes_shares(self):
        bars = parse(answer([DAY_1, DAY_2])).bars

        assert [bar.volume for bar in bars] == [123456700, 200000000]
        assert all(type(bar.volume) is int for bar in bars)

    def test_the_amount_stays_in_yuan(self):
        bar = parse(answer([DAY_1])).bars[0]

        assert bar.amount == Decimal("430000000.00")
        # amount / volume is the day's average price, inside [low, high].
        assert bar.low <= bar.amount / bar.volume <= bar.high

    def test_a_shenzhen_fund(self):
        payload = answer([DAY_1], code="159915", market=0, name="创业板ETF")

        series = parse(payload, code="159915", exchange=XSHE)

        assert (series.code, series.exchange) == ("159915", XSHE)
        assert len(series.bars) == 1

    def test_a_bar_dated_today_is_kept(self):
        series = parse(answer([DAY_1, DAY_2]), today=dt.date(2024, 1, 3))

        assert len(series.bars) == 2
        assert series.problems == []


class TestRejectedBars:
    """A bar that cannot be true is a fatal problem with a reason; the other bars are kept."""

    @pytest.mark.parametrize(
        ("bad", "reason"),
        [
            pytest.param(
                line("2024-01-03", "3.500", "3.520", "3.510", "3.470", 1000, "351000.00"),
                "high 3.510 is below open/close 3.520",
                id="high-below-close",
            ),
            pytest.param(
                line("2024-01-03", "3.530", "3.480", "3.520", "3.470", 1000, "349000.00"),
                "high 3.520 is below open/close 3.530",
                id="high-below-open",
            ),
            pytest.param(
                line("2024-01-03", "3.500", "3.480", "3.510", "3.490", 1000, "349500.00"),
                "low 3.490 is above open/close 3.480",
                id="low-above-close",
            ),
            pytest.param(
                line("2024-01-03", "3.470", "3.480", "3.510", "3.475", 1000, "349000.00"),
                "low 3.475 is above open/close 3.470",
                id="low-above-open",
            ),
            pytest.param(
                line("2024-01-03", "3.500", "3.480", "3.510", "3.470", -1000, "349000.00"),
                "negative volume",
                id="negative-volume",
            ),
        ],
    )
    def test_an_impossible_bar_is_rejected_with_its_reason(self, bad, reason):
        series = parse(answer([DAY_1, bad, DAY_3]))

        assert [bar.trade_date.day for bar in series.bars] == [2, 4]
        [problem] = series.problems
        assert problem.fatal
        assert reason in problem.message
        assert "2024-01-03" in problem.message
        assert problem.code == CODE
        assert problem.row == bad

    def test_bars_after_today_are_rejected(self):
        series = parse(answer([DAY_1, DAY_2, DAY_3]), today=dt.date(2024, 1, 2))

        assert [bar.trade_date for bar in series.bars] == [dt.date(2024, 1, 2)]
        assert len(series.problems) == 2
        assert all(problem.fatal for problem in series.problems)
        messages = [problem.message for problem in series.problems]
        assert "2024-01-03: date is in the future (today is 2024-01-02)" in messages[0]
        assert "2024-01-04: date is in the future (today is 2024-01-02)" in messages[1]

    def test_a_date_sent_twice_is_rejected_in_both_copies(self):
        revised = DAY_2.replace("3.999", "3.998", 1)

        series = parse(answer([DAY_1, DAY_2, revised, DAY_3]))

        # Which copy is right cannot be told, so neither is stored.
        assert [bar.trade_date.day for bar in series.bars] == [2, 4]
        [problem] = series.problems
        assert problem.fatal
        assert "2024-01-03: date appears 2 times" in problem.message

    def test_every_bad_bar_is_reported_and_every_good_one_kept(self):
        lines = [
            DAY_1,
            line("2024-01-03", "3.500", "3.520", "3.510", "3.470", 1000, "351000.00"),
            DAY_3,
            line("2024-01-05", "3.900", "3.950", "3.960", "3.880", -5, "0.00"),
            line("2024-01-08", "3.950", "3.960", "3.990", "3.940", 1000, "396000.00"),
        ]

        series = parse(answer(lines), today=dt.date(2024, 1, 5))

        assert [bar.trade_date.day for bar in series.bars] == [2, 4]
        assert len(series.problems) == 3
        assert all(problem.fatal for problem in series.problems)


class TestUnitCheck:
    """amount / volume must be a price within the day's range, else the units are suspect."""

    def test_an_amount_in_thousands_of_yuan_is_a_warning_and_the_bar_is_kept(self):
        in_thousands = line("2024-01-03", "3.480", "3.999", "4.012", "3.475", 2000000, "760000.55")

        series = parse(answer([DAY_1, in_thousands]))

        assert len(series.bars) == 2, "a warning keeps the bar"
        [problem] = series.problems
        assert not problem.fatal
        assert "2024-01-03" in problem.message
        assert "suspicious units" in problem.message
        assert problem.code == CODE

    def test_a_volume_already_in_shares_is_a_warning_and_the_bar_is_kept(self):
        # 200,000,000 shares sent where 2,000,000 lots belong: read as lots it is 100x too much.
        in_shares = line(
            "2024-01-03", "3.480", "3.999", "4.012", "3.475", 200000000, "760000000.55"
        )

        series = parse(answer([in_shares, DAY_3]))

        assert len(series.bars) == 2
        [problem] = series.problems
        assert not problem.fatal
        assert "2024-01-03: suspicious units" in problem.message

    def test_consistent_units_give_no_warning(self):
        assert parse(answer([DAY_1, DAY_2, DAY_3])).problems == []


class TestEmptyAndErrorAnswers:
    def test_an_empty_klines_list_is_zero_bars(self):
        series = parse(answer([]))

        assert series.bars == []
        assert series.problems == []

    def test_rc_102_with_data_null_is_a_data_error(self):
        payload = {"rc": 102, "rt": 17, "svr": 181734976, "lt": 1, "full": 0, "data": None}

        with pytest.raises(ProviderDataError, match="rc=102"):
            parse(payload)

    def test_data_null_with_rc_0_is_an_unknown_security(self):
        payload = {"rc": 0, "rt": 17, "svr": 181734976, "lt": 1, "full": 0, "data": None}

        with pytest.raises(ProviderDataError, match="k-lines 510300: .*no such security"):
            parse(payload)

    def test_an_answer_for_another_code_is_a_data_error(self):
        with pytest.raises(ProviderDataError, match="the answer is for code '510500'"):
            parse(answer([DAY_1], code="510500"))

    def test_an_answer_for_the_same_code_on_the_other_market_is_a_data_error(self):
        with pytest.raises(ProviderDataError, match="market 0"):
            parse(answer([DAY_1], market=0))

    def test_data_without_klines_is_a_data_error(self):
        payload = {"rc": 0, "rt": 17, "data": {"items": [1, 2, 3]}}

        with pytest.raises(ProviderDataError, match="klines"):
            parse(payload)


def _thousandths(value: int) -> str:
    return f"{value // 1000}.{value % 1000:03d}"


@st.composite
def plain_klines(draw):
    """A k-line as the source writes it, with values at and around every check's edge."""
    # Up to 1,000,000.000 yuan (MAX_PRICE's edge), with the edges themselves drawn often.
    edges = st.sampled_from([1, 999_998_999, 999_999_000, 999_999_999, 1_000_000_000])
    low = draw(st.one_of(edges, st.integers(1, 1_000_000_000)))
    spread = draw(st.sampled_from([0, 1, 2, 1000]))
    high = low + spread
    open_ = draw(st.sampled_from([low, high, low - 1, high + 1]))
    close = draw(st.sampled_from([low, high, low - 1, high + 1]))
    lots = draw(st.sampled_from([0, 1, 7, 1234567]))
    shares = lots * 100
    # The average price (amount / shares) right at, inside and outside the unit tolerance.
    edge = draw(st.sampled_from([Decimal("0.97"), Decimal("1.03"), Decimal(1)]))
    nudge = draw(st.sampled_from([Decimal(0), Decimal("0.01"), Decimal("-0.01")]))
    base = Decimal(low if edge < 1 else high) / 1000
    amount = max(Decimal(0), (base * edge * shares + nudge).quantize(Decimal("0.01")))
    day = draw(st.sampled_from(["2024-01-02", "2024-01-03", "2024-02-30"]))
    prices = [_thousandths(max(0, value)) for value in (open_, close, high, low)]
    return ",".join([day, *prices, str(lots), str(amount), "1.00", "0.00", "0.000", "0.50"])


class TestQuickPathAgreesWithTheExactChecks:
    """The usual answer skips Decimal parsing; every bar it keeps must be one the exact checks
    keep without a problem, with the same values."""

    @settings(max_examples=400, deadline=None, database=None, derandomize=True)
    @given(st.lists(plain_klines(), min_size=1, max_size=3))
    def test_same_bars_and_problems_as_line_by_line(self, lines):
        self.assert_agrees(lines, today=dt.date(2024, 1, 2))

    PLAIN = "2024-01-02,4.000,4.010,4.020,3.990,1000,401000.00,0.75,0.25,0.010,0.05"
    LATER = "2024-01-03,4.010,4.000,4.020,3.990,1000,400500.00,0.75,0.25,0.010,0.05"

    @pytest.mark.parametrize(
        "lines",
        [
            [PLAIN, LATER],
            [PLAIN, LATER + ",extra"],  # another number of fields: the columns would shift
            [PLAIN + ",extra", LATER],
            [PLAIN.rsplit(",", 4)[0], LATER.rsplit(",", 4)[0]],  # the seven fields only
            [PLAIN.rsplit(",", 5)[0], LATER],  # six fields
            [PLAIN, LATER.replace("4.010,", "4.01001,", 1)],  # five decimals
            [PLAIN, LATER.replace("2024-01-03", "2024-1-03")],
            [PLAIN, 20240103],  # not text
            [PLAIN, None, LATER],
            [LATER, PLAIN],  # not in date order
            [PLAIN.replace(",0.75", ",0,75", 1), LATER],  # a comma in a trailing field
        ],
    )
    def test_lines_that_differ_from_the_usual_answer_get_the_exact_checks(self, lines):
        self.assert_agrees(lines, today=dt.date(2024, 1, 3))

    def assert_agrees(self, lines, today):
        series = parse(answer(lines), today=today)

        expected_bars, expected_problems = [], []
        for text in lines:
            try:
                bar = parse_kline(text, f"k-lines {CODE}")
            except ProviderDataError as exc:
                expected_problems.append(str(exc))
                continue
            reason = bar_sanity_problem(bar, today)
            if reason:
                expected_problems.append(f"k-lines {CODE} {bar.trade_date}: {reason}")
            else:
                expected_bars.append(bar)
        days = [bar.trade_date for bar in expected_bars]
        if len(set(days)) == len(days):
            warnings = unit_warnings(expected_bars, CODE, f"k-lines {CODE}")
            expected_problems += [warning.message for warning in warnings]
            assert list(series.bars) == expected_bars
            assert [problem.message for problem in series.problems] == expected_problems


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
