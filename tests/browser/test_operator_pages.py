"""The operator's pages in Chromium at 1,280 px: schedules, revisions, re-run and cancel, a
full sync's steps, the front page's dates and charts. Each saves screenshots and passes the
axe-core check."""

from __future__ import annotations

import datetime as dt

import pytest

from etfs.models import BarRevision, SyncRun
from etfs.schedules import ensure_schedules
from tests.browser.conftest import log_in

# The shared scene (funds, runs, a pause) and its admin user, as the other pages' tests use them
# (taken through ``request``: a parameter of the imported fixture's name would redefine it).
from tests.browser.test_pages import admin_user, assert_accessible, assert_fits, scene  # noqa: F401
from tests.factories import make_run

pytestmark = pytest.mark.django_db(transaction=True)

CALENDAR = "etfsync: trading calendar (every morning)"


def test_the_schedules_page_pauses_and_resumes(browser_page, live_server, request, screenshot):
    page = browser_page
    request.getfixturevalue("scene")
    ensure_schedules()
    make_run(kind="calendar", status="succeeded", schedule=CALENDAR)
    make_run(kind="calendar", status="failed", schedule=CALENDAR)
    log_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/admin/django_q/schedule/")
    screenshot(page, "list")
    assert_fits(page, "#changelist .results")
    assert_accessible(page)
    row = page.locator("#result_list tbody tr", has_text=CALENDAR)
    runs_shown = row.locator("a[href*='/syncrun/']").count()
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "pause")
    page.click("button[name=index]")
    paused = page.locator("#result_list tbody tr", has_text=CALENDAR).inner_text()
    screenshot(page, "paused")

    assert runs_shown == 2
    assert "Paused" in paused


def test_the_revisions_list_says_what_changed(browser_page, live_server, request, screenshot):
    page = browser_page
    shared = request.getfixturevalue("scene")
    run = make_run(kind="etf_prices", status="succeeded")
    BarRevision.objects.create(
        security=shared["etf"],
        trade_date=dt.date(2024, 3, 1),
        run=run,
        **{f"old_{name}": "3.9120" for name in ("open", "high", "low", "close")},
        **{f"new_{name}": "3.9120" for name in ("open", "high", "low")},
        new_close="3.9150",
        old_volume=1_234_500,
        new_volume=1_240_000,
        old_amount="4829364.000",
        new_amount="4829364.000",
    )
    log_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/admin/etfs/barrevision/")
    screenshot(page, "list")
    assert_fits(page, "#changelist .results")
    assert_accessible(page)
    listed = page.locator("#result_list tbody").inner_text()
    page.goto(f"{live_server.url}/admin/etfs/syncrun/{run.pk}/change/")
    screenshot(page, "run")
    on_run_page = page.locator("#run-revisions").inner_text()

    assert "close 3.912 → 3.915" in listed and "volume 1,234,500 → 1,240,000" in listed
    assert "Revised bars (1)" in on_run_page


def test_a_failed_run_is_re_run_and_a_running_one_cancelled_after_asking(
    browser_page, live_server, request, screenshot
):
    page = browser_page
    shared = request.getfixturevalue("scene")
    failed = make_run(kind="corporate_actions", status="failed", parameters={"years": [2024]})
    log_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/admin/etfs/syncrun/{failed.pk}/change/")
    screenshot(page, "failed")
    page.click("#rerun")
    page.wait_for_url("**/syncrun/*/change/")
    again = SyncRun.objects.exclude(pk=failed.pk).filter(kind="corporate_actions").get()
    screenshot(page, "re-run")
    running = shared["running"]
    page.goto(f"{live_server.url}/admin/etfs/syncrun/{running.pk}/change/")
    page.click("#cancel-run")
    screenshot(page, "cancel-question")
    assert_accessible(page)
    asked_only = SyncRun.objects.get(pk=running.pk).cancel_requested
    page.click("#confirm-cancel")

    assert (again.parameters, again.retry_of_id) == ({"years": [2024]}, failed.pk)
    assert f"/syncrun/{again.pk}/change/" in page.url or again.pk
    assert not asked_only
    assert SyncRun.objects.get(pk=running.pk).cancel_requested


def test_the_front_page_dates_stay_on_one_line(browser_page, live_server, request, screenshot):
    page = browser_page
    request.getfixturevalue("scene")
    log_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/admin/")
    screenshot(page, "front")
    lines = page.evaluate(
        """() => [...document.querySelectorAll('#etfsync-overview td.date')].map(cell => {
            const range = document.createRange(); range.selectNodeContents(cell);
            return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size;
        })"""
    )

    assert lines and set(lines) == {1}
    assert page.locator(".trend-axis").count() == 2


def test_a_full_sync_reports_its_steps_added_up(browser_page, live_server, request, screenshot):
    """Issue 24 item 7: the parent's totals are its steps' (it said "74/0 items")."""
    page = browser_page
    request.getfixturevalue("scene")
    now = dt.datetime.now(dt.UTC)
    parent = make_run(
        kind="full_sync",
        status="succeeded",
        parameters={"daily": True},
        queued_at=now - dt.timedelta(minutes=3),
        started_at=now - dt.timedelta(minutes=3),
        finished_at=now,
        items_total=1 + 1312 + 5300,
        items_done=1 + 1312 + 5300,
    )
    for minute, (kind, total) in enumerate(
        [("calendar", 1), ("etf_prices", 1312), ("stock_prices", 5300)]
    ):
        make_run(
            kind=kind,
            status="succeeded",
            parent=parent,
            scope="",
            started_at=now - dt.timedelta(minutes=3 - minute),
            finished_at=now - dt.timedelta(minutes=2 - minute),
            items_total=total,
            items_done=total,
        )
    log_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/admin/etfs/syncrun/{parent.pk}/change/")
    screenshot(page, "full-sync")
    assert_accessible(page)

    assert (
        "6,613 of 6,613 (100%): its 3 steps added up" in page.locator("#run-progress").inner_text()
    )
    assert page.locator("#run-chunks h2").inner_text() == "Steps (3)"
    assert "(ETF prices) started" in page.locator("#run-timeline").inner_text()
