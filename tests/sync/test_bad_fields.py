"""Bad fields from the source, through whole runs (issue 23 items 4, 5 and 7): a field the
job does not need never rejects a row, a value of the wrong JSON type rejects its row alone
with a message, and a wrongly labelled charset never renames a fund."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from etfs.models import StockInfo, SyncRunError, SyncStatus
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from tests.bars import assert_same_bars, served_bars, stored_bars
from tests.conftest import HISTORY_END

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
PREVIOUS_DAY = dt.date(2024, 3, 28)
WARNING = SyncRunError.Severity.WARNING
REJECTED = SyncRunError.Severity.REJECTED


def after_close(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(16), tzinfo=SHANGHAI)


def listed() -> dict[str, str]:
    return dict(StockInfo.objects.etfs().values_list("code", "name"))


def served_names(server) -> dict[str, str]:
    return {fund.code: fund.name for fund in server.funds.values()}


class TestListRun:
    def test_garbage_in_a_field_the_list_does_not_need_rejects_no_fund(self, fake_eastmoney):
        fake_eastmoney.list_overrides[None] = {"f297": "garbage"}

        run = sync_etf_lists()

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert listed() == served_names(fake_eastmoney)
        assert run.rows_rejected == 0
        warnings = run.errors.filter(severity=WARNING)
        assert warnings.count() == 6
        assert all("data date (f297) 'garbage' is not YYYYMMDD" in w.message for w in warnings)
        assert run.error_summary.startswith(
            "6 list row(s) kept with a warning, first: ETF list row"
        )
        assert "the source listed no funds" not in run.error_summary

    @pytest.mark.parametrize("field", ["f297", "f124", "f13"])
    def test_a_list_in_one_field_touches_that_row_alone(self, fake_eastmoney, field):
        fake_eastmoney.list_overrides["510001"] = {field: []}

        run = sync_etf_lists()

        assert run.status in (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL)
        others = {code: name for code, name in served_names(fake_eastmoney).items()}
        if field == "f13":  # the market id makes the fund: that row is rejected, with why
            others.pop("510001")
            [problem] = run.errors.filter(severity=REJECTED)
            assert problem.message == "ETF list row 510001: unknown market id (f13) []"
            assert run.error_summary.startswith(f"1 list row(s) rejected, first: {problem.message}")
        else:  # a quote field: the fund is kept without its quote
            [problem] = run.errors.filter(severity=WARNING)
            assert "[]" in problem.message and "the row's quote is left out" in problem.message
        assert listed() == others

    def test_a_rejected_row_says_in_the_summary_what_and_why(self, fake_eastmoney):
        fake_eastmoney.list_overrides["510001"] = {"f12": {"code": "510001"}}

        run = sync_etf_lists()

        assert run.rows_rejected == 1
        assert (
            "1 list row(s) rejected, first: ETF list row: code (f12) {'code': '510001'} is not "
            in (run.error_summary)
        )


class TestPriceRun:
    @pytest.fixture
    def one_day_behind(self, fake_eastmoney):
        sync_etf_lists()
        sync_etf_prices(PriceOptions(start_year=2024), now=after_close(PREVIOUS_DAY))
        fake_eastmoney.list_today_only = HISTORY_END
        fake_eastmoney.requests.clear()
        return fake_eastmoney

    @pytest.mark.parametrize("field", ["f297", "f124", "f13", "f2", "f5"])
    @pytest.mark.parametrize("value", [[], {}, "garbage", 1.5])
    def test_a_bad_value_in_one_row_costs_that_funds_list_bar_only(
        self, one_day_behind, field, value
    ):
        one_day_behind.list_overrides["510001"] = {field: value}

        run = sync_etf_prices(
            PriceOptions(start_year=2024, from_list=True), now=after_close(HISTORY_END)
        )

        run.refresh_from_db()
        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert_same_bars(stored_bars(), served_bars(one_day_behind))
        # The other five came from the list pass; that one fund from its k-lines.
        kline_codes = {
            request.args["secid"].partition(".")[2]
            for request in one_day_behind.paths("/api/qt/stock/kline/get")
            if request.args["secid"] != "1.000001"
        }
        assert kline_codes == {"510001"}


class TestCharset:
    def test_a_latin1_label_over_utf8_names_renames_nothing(self, fake_eastmoney):
        sync_etf_lists()
        fake_eastmoney.json_content_type = "application/json; charset=iso-8859-1"

        run = sync_etf_lists()

        assert run.status == SyncStatus.SUCCEEDED, run.error_summary
        assert listed() == served_names(fake_eastmoney)
        assert run.rows_updated == 0

    def test_a_name_that_changes_only_into_mojibake_is_a_warning_not_an_update(
        self, fake_eastmoney
    ):
        sync_etf_lists()
        fund = next(fund for fund in fake_eastmoney.funds.values() if fund.code == "510001")
        original = fund.name
        fund.name = original.encode("utf-8").decode("latin-1")  # what a Latin reading gives

        run = sync_etf_lists()

        assert listed()["510001"] == original
        [warning] = run.errors.filter(severity=WARNING)
        assert warning.code == "510001"
        assert f"reads as mojibake of {original!r}; the stored name {original!r} is kept" in (
            warning.message
        )
        assert run.rows_updated == 0

    def test_a_real_rename_is_still_an_update(self, fake_eastmoney):
        sync_etf_lists()
        fund = next(fund for fund in fake_eastmoney.funds.values() if fund.code == "510001")
        fund.name = "Café 300ETF"

        run = sync_etf_lists()

        assert listed()["510001"] == "Café 300ETF"
        assert run.rows_updated == 1
