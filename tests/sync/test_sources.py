"""Sources in order: the long form of the configuration, the order per capability, and a
source in a ban cooldown passed over for the next one (etfs/sync/sources.py)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured

from etfs.models import DailyBar, SourceCooldown, SyncRunError, SyncStatus
from etfs.providers.base import DailyBarSource, FundListSource, TradingDaySource
from etfs.sync.cooldown import start_cooldown
from etfs.sync.lists import sync_etf_lists
from etfs.sync.prices import PriceOptions, sync_etf_prices
from etfs.sync.sources import provider_for, providers_for
from tests.bars import served_bars, stored_bars
from tests.conftest import HISTORY_END

pytestmark = pytest.mark.django_db

AFTER_CLOSE = dt.datetime.combine(HISTORY_END, dt.time(16), tzinfo=ZoneInfo("Asia/Shanghai"))
MINIMAL = "tests.providers.minimal_source.MinimalSource"
EASTMONEY = "etfs.providers.eastmoney.EastmoneyClient"
# The backup knows one fund the fake Eastmoney does not list, so whatever it served shows.
BACKUP_FUNDS = {
    ("588000", "XSHG"): ("科创50ETF", [("2024-03-01", "1.0", "1.1", "0.9", "1.0", 100, "100")])
}


@pytest.fixture
def backup_then_eastmoney(settings, fake_eastmoney):
    """The long form: a backup source first for daily bars, Eastmoney second."""
    url = fake_eastmoney.url
    settings.ETFSYNC_SOURCES = {
        "backup": {"BACKEND": MINIMAL, "OPTIONS": {"FUNDS": BACKUP_FUNDS}},
        "eastmoney": {"BACKEND": EASTMONEY, "OPTIONS": {"PUSH2_URL": url, "PUSH2HIS_URL": url}},
    }
    settings.ETFSYNC_SOURCE_ORDER = {
        "fund_list": ["eastmoney"],
        "daily_bars": ["backup", "eastmoney"],
    }
    assert sync_etf_lists().status == SyncStatus.SUCCEEDED
    return fake_eastmoney


def sync_prices():
    run = sync_etf_prices(PriceOptions(start_year=2024), now=AFTER_CLOSE)
    run.refresh_from_db()
    return run


def test_a_source_in_a_ban_cooldown_is_passed_over_and_the_next_one_serves(
    backup_then_eastmoney,
):
    start_cooldown("backup", "answered HTTP 403")

    run = sync_prices()

    assert (run.status, run.provider) == (SyncStatus.SUCCEEDED, "eastmoney")
    assert stored_bars().keys() == served_bars(backup_then_eastmoney).keys()
    warning = run.errors.get(severity=SyncRunError.Severity.WARNING)
    assert warning.message.startswith("daily bars: backup passed over (in a ban cooldown until ")
    assert warning.message.endswith("); eastmoney served")
    # The cooldown stays the backup's own: Eastmoney's requests did not touch it.
    assert list(SourceCooldown.objects.values_list("source", flat=True)) == ["backup"]


def test_without_a_cooldown_the_first_source_in_the_order_serves(backup_then_eastmoney):
    run = sync_prices()

    assert run.provider == "backup"
    assert not backup_then_eastmoney.paths("/api/qt/stock/kline/get")
    assert not DailyBar.objects.exists()  # the backup knows none of the listed funds


def test_when_every_source_is_cooling_down_the_first_says_so(backup_then_eastmoney):
    start_cooldown("backup", "answered HTTP 403")
    start_cooldown("eastmoney", "answered HTTP 429")

    run = sync_prices()

    assert (run.status, run.provider) == (SyncStatus.FAILED, "backup")
    assert "backup is refusing requests (answered HTTP 403)" in run.error_summary
    assert not backup_then_eastmoney.paths("/api/qt/stock/kline/get")


def test_the_long_form_names_the_source_and_the_order_is_per_capability(settings):
    settings.ETFSYNC_SOURCES = {
        "first": {"BACKEND": MINIMAL, "OPTIONS": {"FUNDS": {}}},
        "second": {"BACKEND": MINIMAL, "OPTIONS": {"FUNDS": BACKUP_FUNDS}},
    }
    settings.ETFSYNC_SOURCE_ORDER = {"fund_list": ["second", "first"]}

    assert [source.name for source in providers_for(FundListSource)] == ["second", "first"]
    assert [source.name for source in providers_for(DailyBarSource)] == ["first", "second"]
    assert provider_for(FundListSource).funds == BACKUP_FUNDS


@pytest.mark.parametrize(
    ("sources", "order", "message"),
    [
        ({"a": {"OPTIONS": {}}}, {}, r"ETFSYNC_SOURCES\['a'\] must be a dict with a 'BACKEND'"),
        ({"a": {"BACKEND": "etfs.providers.nowhere.Source"}}, {}, "cannot import"),
        ({"a": {"BACKEND": "etfs.models.StockInfo"}}, {}, "not a Provider class"),
        (
            {"a": {"BACKEND": EASTMONEY, "OPTIONS": {"PUSH2_URL": "http://127.0.0.1:9"}}},
            {},
            r"ETFSYNC_SOURCES\['a'\]: EastmoneyClient needs OPTIONS\['PUSH2HIS_URL'\]",
        ),
        (
            {"a": {"BACKEND": MINIMAL, "OPTIONS": {"FUNDS": {}}}},
            {"daily_bars": ["a", "b"]},
            r"ETFSYNC_SOURCE_ORDER\['daily_bars'\] names 'b', which is not a configured source",
        ),
    ],
)
def test_a_bad_entry_is_a_configuration_error_that_says_where(settings, sources, order, message):
    settings.ETFSYNC_SOURCES = sources
    settings.ETFSYNC_SOURCE_ORDER = order

    with pytest.raises(ImproperlyConfigured, match=message):
        provider_for(DailyBarSource)


def test_the_order_names_a_source_that_lacks_the_capability(settings, fake_eastmoney):
    settings.ETFSYNC_SOURCES = {"only": {"BACKEND": MINIMAL, "OPTIONS": {"FUNDS": {}}}}
    settings.ETFSYNC_SOURCE_ORDER = {"trading_days": ["only"]}

    with pytest.raises(ImproperlyConfigured, match="names 'only', which does not provide it"):
        provider_for(TradingDaySource)
