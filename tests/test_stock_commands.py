"""The stock commands: summary line, exit statuses, one exchange."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from etfs.market import SHANGHAI
from etfs.models import StockInfo

pytestmark = pytest.mark.django_db
EVENING = dt.datetime(2024, 4, 1, 18, tzinfo=SHANGHAI)


def run(*args) -> str:
    out = io.StringIO()
    with time_machine.travel(EVENING, tick=False):
        call_command(*args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_sync_stock_lists_prints_the_summary(stock_market):
    output = run("sync_stock_lists")

    assert "Stock lists succeeded" in output
    assert StockInfo.objects.stocks().count() == 9


def test_sync_stock_lists_of_one_exchange(stock_market):
    run("sync_stock_lists", "--exchange", "XSHG")

    assert set(StockInfo.objects.values_list("exchange", flat=True)) == {"XSHG"}


def test_sync_stock_lists_without_any_source_exits_1(stock_market, closed_port_url, settings):
    settings.ETFSYNC_EASTMONEY_PUSH2_URL = closed_port_url
    settings.ETFSYNC_SSE_QUERY_URL = settings.ETFSYNC_SZSE_URL = closed_port_url

    with pytest.raises(CommandError) as failure:
        run("sync_stock_lists")

    assert failure.value.returncode == 1
    assert "could not read the stock list" in str(failure.value)
