"""The bars the fake Eastmoney serves against the bars stored in DailyBar."""

import datetime as dt

from etfs.models import DailyBar
from tests.conftest import HISTORY_END


def served_bars(server, codes=None, until: dt.date = HISTORY_END) -> dict:
    """(code, day) -> FakeBar for every bar the fake would serve up to ``until``."""
    return {
        (fund.code, bar.day): bar
        for fund in server.funds.values()
        if codes is None or fund.code in codes
        for bar in fund.bars
        if bar.day <= until
    }


def stored_bars() -> dict:
    """(code, day) -> DailyBar for every stored bar."""
    return {
        (row.security.code, row.trade_date): row
        for row in DailyBar.objects.select_related("security")
    }


def assert_same_bars(stored: dict, served: dict) -> None:
    assert sorted(stored) == sorted(served)
    for key, fake in served.items():
        row = stored[key]
        assert (row.open, row.close, row.high, row.low) == (
            fake.open,
            fake.close,
            fake.high,
            fake.low,
        ), key
        assert row.volume == fake.lots * 100, key
        assert row.amount == fake.amount, key
