"""The reads beside the ETFs' (etfs(), etf_count_by_exchange()): stocks of an exchange or
board, and their counts; listed ones unless asked otherwise."""

import pytest

from etfs.models import StockInfo
from tests.factories import make_security

pytestmark = pytest.mark.django_db


@pytest.fixture
def market():
    make_security("510300")  # an ETF: never a stock
    make_security("600000", is_etf=False, board="main")
    make_security("688001", is_etf=False, board="star")
    make_security("000001", "XSHE", is_etf=False, board="main")
    make_security("300750", "XSHE", is_etf=False, board="chinext")
    make_security("000003", "XSHE", is_etf=False, board="main", status="delisted")


def codes(queryset) -> set[str]:
    return set(queryset.values_list("code", flat=True))


def test_stocks_of_an_exchange_or_a_board(market):
    assert codes(StockInfo.objects.stocks()) == {"600000", "688001", "000001", "300750"}
    assert codes(StockInfo.objects.stocks("XSHG")) == {"600000", "688001"}
    assert codes(StockInfo.objects.stocks(board="main")) == {"600000", "000001"}
    assert codes(StockInfo.objects.stocks("XSHE", "chinext")) == {"300750"}
    assert "000003" in codes(StockInfo.objects.stocks(include_delisted=True))


def test_counts_by_exchange_and_board(market):
    assert StockInfo.objects.stock_count_by_exchange() == {"XSHG": 2, "XSHE": 2}
    assert StockInfo.objects.stock_count_by_board() == {"main": 2, "star": 1, "chinext": 1}
    assert StockInfo.objects.etf_count_by_exchange() == {"XSHG": 1, "XSHE": 0}


def test_a_fund_cannot_have_a_board(market):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        make_security("510500", board="main")
