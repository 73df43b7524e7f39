"""The list parser (etfs/providers/eastmoney/clist.py): payloads in, listings or a clear
ProviderDataError out. No database, no network."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from etfs.providers.base import XSHE, XSHG, ProviderDataError
from etfs.providers.eastmoney.clist import parse_list_page
from tests.providers.eastmoney.answers import RECORDED_LIST, list_answer, list_row, load, wire

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
