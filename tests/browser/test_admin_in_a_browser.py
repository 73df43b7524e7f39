"""The admin pages in a real browser: log in, press the sync button, land on the run.

Needs Chromium (Debian's package: /usr/bin/chromium; .ci/run installs it) and the Playwright
Python package (requirements.txt); skipped with the reason when Chromium is missing, failed
in CI (the ``browser`` marker, tests/conftest.py).
"""

import os

import pytest

from etfs.models import StockInfo, SyncRun, SyncStatus
from tests.browser.conftest import PASSWORD, log_in
from tests.factories import make_bars, make_security, make_staff_user

VIEW_PERMISSIONS = ("etfs.view_stockinfo", "etfs.view_syncrun", "etfs.view_syncrunerror")

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operator_starts_a_list_sync_and_lands_on_the_run(browser_page, live_server, tmp_path):
    make_staff_user("operator", *VIEW_PERMISSIONS, "etfs.run_sync", password=PASSWORD)
    security = make_security(name="沪深300ETF")
    make_bars(security, 10)
    page = browser_page
    log_in(page, live_server, "operator")

    page.goto(f"{live_server.url}/admin/etfs/stockinfo/")
    assert page.locator("#result_list").inner_text().count("沪深300ETF") == 1
    page.click("#sync-etf-lists")
    page.wait_for_url("**/admin/etfs/syncrun/*/change/")
    message = page.locator(".messagelist").inner_text()
    page.screenshot(path=str(tmp_path / "run.png"), full_page=True)

    run = SyncRun.objects.get()
    assert f"Queued run #{run.pk}" in message
    assert (run.status, run.trigger, run.requested_by.username) == (
        SyncStatus.QUEUED,
        "admin",
        "operator",
    )
    assert run.task_id
    assert "Queued" in page.locator(".field-status_badge").inner_text()


def test_the_bar_summary_and_periods_show_on_an_etf_page(browser_page, live_server):
    make_staff_user("viewer", *VIEW_PERMISSIONS, password=PASSWORD)
    security = make_security()
    make_bars(security, 21)
    page = browser_page
    log_in(page, live_server, "viewer")

    page.goto(f"{live_server.url}/admin/etfs/stockinfo/")
    row = page.locator("#result_list tbody tr").first.inner_text()
    page.goto(f"{live_server.url}/admin/etfs/stockinfo/{security.pk}/change/")
    page.click("text=Weekly")
    page.wait_for_url("**?period=week*")
    weekly_rows = page.locator("#bars-table tbody tr").count()

    assert "21" in row  # the bar count, beside first and last bar dates
    assert weekly_rows == 4  # 2 Jan 2024 (Tue) .. 22 Jan: four Monday-weeks
    assert StockInfo.objects.count() == 1


def test_staff_without_the_permission_see_no_sync_buttons(browser_page, live_server):
    make_staff_user("viewer", *VIEW_PERMISSIONS, password=PASSWORD)
    page = browser_page
    log_in(page, live_server, "viewer")

    for path in ("/admin/etfs/stockinfo/", "/admin/etfs/syncrun/"):
        page.goto(live_server.url + path)
        assert page.locator("#sync-etf-lists").count() == 0
        assert page.locator("#sync-etf-prices").count() == 0
    assert not SyncRun.objects.exists()
    assert os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE") == "true"
