"""The schema's own guarantees, checked against PostgreSQL."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, connection, transaction

from etfs.models import DailyBar, StockInfo
from tests.factories import make_security

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "exchange"),
    [("12345", "XSHG"), ("51030a", "XSHG"), ("5103000", "XSHE"), ("510300", "XHKG")],
)
def test_the_database_refuses_bad_codes_and_exchanges(code, exchange):
    # A seven-character code does not even fit the column (DataError).
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        StockInfo.objects.create(code=code, exchange=exchange, name="bad")


def test_a_code_is_unique_per_exchange_only():
    make_security("510300", "XSHG")
    make_security("510300", "XSHE")  # another exchange: allowed

    with pytest.raises(IntegrityError), transaction.atomic():
        make_security("510300", "XSHG")


@pytest.mark.parametrize("code", ["1234", "５１００００", "51030０"])
def test_forms_and_full_clean_say_a_code_is_six_ascii_digits(code):
    with pytest.raises(ValidationError) as raised:
        StockInfo(code=code, exchange="XSHG", name="x").full_clean()

    assert "six ASCII digits" in str(raised.value)


def test_is_etf_has_its_own_index_and_one_with_exchange():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, StockInfo._meta.db_table)
    indexed = [tuple(c["columns"]) for c in constraints.values() if c["index"]]

    assert ("is_etf",) in indexed
    assert ("exchange", "is_etf") in indexed


def test_a_bar_is_unique_per_security_and_day():
    security = make_security()
    values = {"open": 1, "high": 1, "low": 1, "close": 1, "volume": 100, "amount": 100}
    DailyBar.objects.create(security=security, trade_date="2024-01-02", **values)

    with pytest.raises(IntegrityError), transaction.atomic():
        DailyBar.objects.create(security=security, trade_date="2024-01-02", **values)
