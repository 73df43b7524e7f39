"""What a sync owns is read-only in the admin; what a person owns stays editable."""

import pytest
from django.urls import reverse

from etfs.models import DailyBar, SourceCooldown, StockInfo
from tests.factories import make_bars, make_security

pytestmark = pytest.mark.django_db


def test_a_security_cannot_be_changed_added_or_deleted(client, superuser):
    security = make_security(name="沪深300ETF")
    change_url = reverse("admin:etfs_stockinfo_change", args=[security.pk])

    page = client.get(change_url)
    posted = client.post(change_url, {"code": "999999", "exchange": "XSHE", "name": "edited"})
    add = client.get(reverse("admin:etfs_stockinfo_add"))
    delete = client.post(
        reverse("admin:etfs_stockinfo_delete", args=[security.pk]), {"post": "yes"}
    )
    listing = client.get(reverse("admin:etfs_stockinfo_changelist"))

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    assert add.status_code == 403
    assert delete.status_code == 403
    assert "delete_selected" not in listing.content.decode()
    assert StockInfo.objects.get().name == "沪深300ETF"


def test_bars_cannot_be_changed_added_or_deleted(client, superuser):
    make_bars(make_security(), 3)
    bar = DailyBar.objects.first()

    listing = client.get(reverse("admin:etfs_dailybar_changelist")).content.decode()
    posted = client.post(reverse("admin:etfs_dailybar_change", args=[bar.pk]), {"close": "9"})
    add = client.get(reverse("admin:etfs_dailybar_add"))
    bulk_delete = client.post(
        reverse("admin:etfs_dailybar_changelist"),
        {"action": "delete_selected", "_selected_action": [bar.pk], "post": "yes"},
    )

    assert "Add daily bar" not in listing
    assert "100,000.00" in listing  # amounts and volumes grouped by thousands
    assert "delete_selected" not in listing
    assert posted.status_code == 403
    assert add.status_code == 403
    assert bulk_delete.status_code in (200, 302)
    assert DailyBar.objects.count() == 3


def test_tokens_and_cooldowns_stay_editable(client, superuser):
    cooldown = SourceCooldown.objects.create(source="eastmoney", until="2099-01-01T00:00Z")

    token_add = client.get(reverse("admin:etfs_apitoken_add"))
    lifted = client.post(
        reverse("admin:etfs_sourcecooldown_delete", args=[cooldown.pk]), {"post": "yes"}
    )

    assert token_add.status_code == 200
    assert lifted.status_code == 302
    assert not SourceCooldown.objects.exists()


def test_corporate_actions_and_factors_are_read_only(client, superuser):
    from etfs.models import CorporateAction

    security = make_security("513500")
    action = CorporateAction.objects.create(
        security=security, ex_date="2022-03-29", kind="split", ratio=2
    )

    listing = client.get(reverse("admin:etfs_corporateaction_changelist"))
    posted = client.post(
        reverse("admin:etfs_corporateaction_change", args=[action.pk]), {"ratio": "3"}
    )
    add = client.get(reverse("admin:etfs_corporateaction_add"))
    factors = client.get(reverse("admin:etfs_adjustmentfactor_add"))

    assert listing.status_code == 200 and "513500" in listing.content.decode()
    assert (posted.status_code, add.status_code, factors.status_code) == (403, 403, 403)
    assert CorporateAction.objects.get().ratio == 2


def test_a_runs_problems_go_only_with_the_run(client, superuser):
    from etfs.models import SyncRunError
    from tests.factories import make_run, make_run_error

    problem = make_run_error(make_run(status="partial"), "510300: cannot reach push2his")

    delete = client.post(
        reverse("admin:etfs_syncrunerror_delete", args=[problem.pk]), {"post": "yes"}
    )

    assert delete.status_code == 403
    assert SyncRunError.objects.count() == 1


def test_the_trading_calendar_is_read_only(client, superuser):
    from etfs.models import TradingDay

    day = TradingDay.objects.order_by("date").first()

    listing = client.get(reverse("admin:etfs_tradingday_changelist"))
    add = client.get(reverse("admin:etfs_tradingday_add"))
    delete = client.post(reverse("admin:etfs_tradingday_delete", args=[day.pk]), {"post": "yes"})

    assert listing.status_code == 200
    assert (add.status_code, delete.status_code) == (403, 403)
    assert TradingDay.objects.filter(pk=day.pk).exists()
