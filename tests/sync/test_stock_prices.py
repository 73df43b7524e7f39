"""The stock price sync against the fake Eastmoney: exact bars, the universes kept apart, the
after-close list pass, delisted stocks.

The fake's histories run 2024-01-01..2024-03-29 (a Friday, a trading day). Writes commit, as
in a worker (see tests/sync/test_prices.py), so the tests are transactional.
"""

import datetime as dt

import pytest
import time_machine

from etfs.market import SHANGHAI
from etfs.models import DailyBar, StockInfo, SyncStatus
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices, sync_stock_prices
from etfs.sync.stock_lists import sync_stock_lists
from tests.conftest import HISTORY_END
from tests.stock_market import DELISTED_ON

pytestmark = pytest.mark.django_db(transaction=True)
EVENING = dt.datetime(2024, 3, 29, 18, tzinfo=SHANGHAI)
PREVIOUS_EVENING = dt.datetime(2024, 3, 28, 18, tzinfo=SHANGHAI)


def at(moment, function, *args, **kwargs):
    with time_machine.travel(moment, tick=False):
        return function(*args, **kwargs)


def served(server, *, stocks: bool, until=HISTORY_END) -> dict:
    """(code, exchange, day) -> FakeBar the fake serves for its stocks (or its funds)."""
    return {
        (fake.code, "XSHG" if fake.market == 1 else "XSHE", bar.day): bar
        for fake in server.funds.values()
        if hasattr(fake, "board") == stocks
        if not getattr(fake, "board", "").startswith("m:0 s")
        for bar in fake.bars
        if bar.day <= until
    }


def stored(*, is_etf: bool) -> dict:
    bars = DailyBar.objects.filter(security__is_etf=is_etf).select_related("security")
    return {(bar.security.code, bar.security.exchange, bar.trade_date): bar for bar in bars}


def assert_exact(stored_bars: dict, served_bars: dict) -> None:
    assert sorted(stored_bars) == sorted(served_bars)
    for key, fake in served_bars.items():
        row = stored_bars[key]
        assert (row.open, row.high, row.low, row.close) == (
            fake.open,
            fake.high,
            fake.low,
            fake.close,
        )
        assert (row.volume, row.amount) == (fake.lots * 100, fake.amount), key


def snapshot(*, is_etf: bool):
    rows = list(StockInfo.objects.filter(is_etf=is_etf).order_by("pk").values())
    bars = list(
        DailyBar.objects.filter(security__is_etf=is_etf)
        .order_by("security_id", "trade_date")
        .values_list("security_id", "trade_date", "close", "volume")
    )
    return rows, bars


@pytest.fixture
def listed(stock_market):
    at(EVENING, sync_etf_lists)
    at(EVENING, sync_stock_lists)
    return stock_market


def test_every_stock_bar_exact_with_two_decimals(listed):
    run = at(EVENING, sync_stock_prices, PriceOptions(start_year=2024))

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    expected = served(listed.eastmoney, stocks=True)
    expected = {
        key: bar for key, bar in expected.items() if key[0] != "600087" or key[2] < DELISTED_ON
    }
    assert_exact(stored(is_etf=False), expected)
    assert str(DailyBar.objects.filter(security__code="688001").first().close).endswith("00")
    assert not stored(is_etf=True)  # no ETF bar was asked for


def test_a_stock_run_and_an_etf_run_each_leave_the_other_universe_untouched(listed):
    at(EVENING, sync_etf_prices, PriceOptions(start_year=2024))
    etfs_before = snapshot(is_etf=True)
    stocks_before = snapshot(is_etf=False)

    at(EVENING, sync_stock_prices, PriceOptions(start_year=2024))
    assert snapshot(is_etf=True) == etfs_before

    stocks_after = snapshot(is_etf=False)
    assert stocks_after != stocks_before  # the stock run wrote stock bars
    listed.eastmoney.requests.clear()
    at(EVENING, sync_etf_prices, PriceOptions(start=dt.date(2024, 3, 1)))
    assert snapshot(is_etf=False) == stocks_after
    asked = {r.args.get("secid") for r in listed.eastmoney.paths("kline")}
    assert "1.600000" not in asked and "0.600000" in asked  # the ETF twin, not the stock


def test_a_stock_and_an_etf_with_the_same_six_digits_keep_their_own_bars(listed):
    at(EVENING, sync_etf_prices, PriceOptions(start_year=2024))
    at(EVENING, sync_stock_prices, PriceOptions(start_year=2024))

    twin_etf = StockInfo.objects.get(code="600000", exchange="XSHE")
    stock = StockInfo.objects.get(code="600000", exchange="XSHG")
    assert twin_etf.is_etf and not stock.is_etf
    etf_closes = {b.trade_date: b.close for b in twin_etf.bars.all()}
    stock_closes = {b.trade_date: b.close for b in stock.bars.all()}
    assert etf_closes == {b.day: b.close for b in listed.stock("600000", 0).bars}
    assert stock_closes == {b.day: b.close for b in listed.stock("600000", 1).bars}


def test_a_delisted_stock_is_fetched_up_to_its_delisting_date_once(listed):
    run = at(EVENING, sync_stock_prices, PriceOptions(start_year=2024))

    gone = StockInfo.objects.get(code="600087")
    assert gone.bar_count > 0 and gone.last_bar_date < DELISTED_ON
    asked = [r for r in listed.eastmoney.paths("kline") if r.args.get("secid") == "1.600087"]
    assert [r.args.get("end") for r in asked] == [DELISTED_ON.strftime("%Y%m%d")]
    assert run.status == SyncStatus.SUCCEEDED

    listed.eastmoney.requests.clear()
    at(EVENING, sync_stock_prices, PriceOptions(start_year=2024))
    assert not [r for r in listed.eastmoney.paths("kline") if r.args.get("secid") == "1.600087"]


def test_a_long_delisted_stock_without_history_is_recorded_once_and_not_asked_again(listed):
    run = at(EVENING, sync_stock_prices, PriceOptions(start_year=2000))

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    gone = StockInfo.objects.get(code="000003")
    assert gone.history_unavailable_at is not None and gone.bar_count == 0

    listed.eastmoney.requests.clear()
    at(EVENING, sync_stock_prices, PriceOptions(start_year=2000))
    asked = {r.args.get("secid") for r in listed.eastmoney.paths("kline")}
    assert "0.000003" not in asked


def test_the_daily_pass_for_300_stocks_costs_four_list_requests_and_no_k_line(
    settings, start_fake_eastmoney
):
    from tests.fakes.eastmoney_stocks import make_stocks

    settings.ETFSYNC_PROVIDERS = [
        "etfs.providers.eastmoney.EastmoneyClient",
        "etfs.providers.eastmoney.EastmoneyStockList",
    ]
    stocks = make_stocks(300, dt.date(2024, 3, 18), HISTORY_END)
    server = start_fake_eastmoney(funds=stocks)
    day_before = {(s.market, s.code): s.bars.pop() for s in stocks}  # the fake is at 03-28
    at(PREVIOUS_EVENING, sync_stock_lists)
    first = at(PREVIOUS_EVENING, sync_stock_prices, PriceOptions(start_year=2024))
    assert first.status == SyncStatus.SUCCEEDED, first.error_summary
    for key, bar in day_before.items():  # the 29th is published
        server.funds[key].bars.append(bar)
    server.requests.clear()

    run = at(EVENING, sync_stock_prices, PriceOptions(from_list=True))

    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert len(server.paths("clist")) <= 4
    assert server.paths("kline") == []
    assert DailyBar.objects.filter(trade_date=HISTORY_END).count() == 300
    assert run.rows_created == 300


def test_a_queued_stock_price_run_is_run_by_the_task_on_stocks_only(listed, settings):
    from etfs.tasks import enqueue_sync, execute_run

    run, created = enqueue_sync("stock_prices", "api", {"start_year": 2024})
    assert created
    at(EVENING, execute_run, run.pk)

    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert stored(is_etf=False) and not stored(is_etf=True)


def test_a_large_stock_price_run_fans_out_into_stock_chunks(listed, settings):
    from etfs.models import SyncRun
    from etfs.tasks import enqueue_sync, execute_run

    settings.ETFSYNC_PRICE_CHUNK_ETFS = 4
    run, _ = enqueue_sync("stock_prices", "api", {"start_year": 2024})
    at(EVENING, execute_run, run.pk)

    chunks = SyncRun.objects.filter(parent=run)
    assert chunks.count() == 3  # nine listed stocks and two delisted, four a chunk
    assert set(chunks.values_list("kind", flat=True)) == {"stock_prices"}
    for chunk in chunks:
        at(EVENING, execute_run, chunk.pk)
    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED, run.error_summary
    assert stored(is_etf=False) and not stored(is_etf=True)
