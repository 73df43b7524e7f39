"""Revised bars: what changed, old -> new, on a run's page and in the list of all revisions."""

import datetime as dt
from decimal import Decimal

import pytest

from etfs.admin.display import factor, number, revision_changes, shares
from etfs.models import BarRevision
from tests.factories import make_run, make_security

pytestmark = pytest.mark.django_db

BAR = {"open": "3.9000", "high": "3.9500", "low": "3.8800", "close": "3.9120"}


def make_revision(security, run, day, **new) -> BarRevision:
    old = {**BAR, "volume": 1_234_500, "amount": "4829364.000"}
    changed = {**old, **new}
    return BarRevision.objects.create(
        security=security,
        trade_date=day,
        run=run,
        **{f"old_{name}": value for name, value in old.items()},
        **{f"new_{name}": value for name, value in changed.items()},
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        (Decimal("0.05000000"), "0.05"),
        (Decimal("2.0000000000"), "2"),
        (Decimal("0.0100000000"), "0.01"),
        (Decimal("14766271323.900"), "14,766,271,323.9"),
        (Decimal("1240000.0000"), "1,240,000"),
        (1240000, "1,240,000"),
        (None, "-"),
    ],
)
def test_numbers_read_without_trailing_zeros(value, expected):
    assert number(value) == expected


def test_factors_to_six_places_and_volumes_in_whole_shares():
    assert factor(Decimal("1.02040816326530612245")) == "1.020408"
    assert factor(Decimal("2.00000000000000000000")) == "2"
    assert shares(Decimal("2469000.4999")) == "2,469,000"


def test_a_revision_names_only_the_values_that_changed():
    revision = BarRevision(
        **{f"old_{name}": Decimal(value) for name, value in BAR.items()},
        **{f"new_{name}": Decimal(value) for name, value in BAR.items()},
        old_volume=1_234_500,
        new_volume=1_240_000,
        old_amount=Decimal("4829364.000"),
        new_amount=Decimal("4829364.000"),
    )
    revision.new_close = Decimal("3.9150")

    assert revision_changes(revision) == [
        ("close", "3.912", "3.915"),
        ("volume", "1,234,500", "1,240,000"),
    ]


def test_the_run_page_shows_what_changed_and_links_to_its_revisions(client, superuser):
    run = make_run(kind="etf_prices", status="succeeded")
    etf = make_security("510300")
    make_revision(etf, run, dt.date(2026, 11, 20), close="3.9150", volume=1_240_000)

    page = client.get(f"/admin/etfs/syncrun/{run.pk}/change/").content.decode()

    assert "Revised bars (1)" in page
    assert "close <del>3.912</del> → <ins>3.915</ins>" in page
    assert "volume <del>1,234,500</del> → <ins>1,240,000</ins>" in page
    assert "2026-11-20 revised" not in page  # no caption per row
    assert f'href="/admin/etfs/barrevision/?run={run.pk}"' in page


def test_the_list_of_all_revisions_filters_by_run_and_exchange(client, superuser):
    first, second = make_run(kind="etf_prices"), make_run(kind="etf_prices")
    shanghai, shenzhen = make_security("510300"), make_security("159915", "XSHE")
    make_revision(shanghai, first, dt.date(2026, 11, 19), close="3.9130")
    make_revision(shanghai, second, dt.date(2026, 11, 20), high="3.9600")
    make_revision(shenzhen, second, dt.date(2026, 11, 20), low="3.8700")

    every = client.get("/admin/etfs/barrevision/")
    of_run = client.get(f"/admin/etfs/barrevision/?run={first.pk}")
    of_shenzhen = client.get("/admin/etfs/barrevision/?security__exchange=XSHE")

    assert every.status_code == 200
    assert len(every.context["cl"].result_list) == 3
    assert [r.run_id for r in of_run.context["cl"].result_list] == [first.pk]
    [only] = of_shenzhen.context["cl"].result_list
    assert only.security == shenzhen
    assert "high <del>3.95</del> → <ins>3.96</ins>" in every.content.decode()
    assert client.post(f"/admin/etfs/barrevision/{only.pk}/delete/").status_code == 403
