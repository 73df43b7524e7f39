"""Every admin page an operator uses, in Chromium at 1,280 px: it works, it fits, it is accessible.

Each test saves full-page screenshots (see conftest.py) and runs axe-core; a serious or critical
WCAG A/AA violation fails the test.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from etfs.models import DailyBar, SourceCooldown, SyncRun
from etfs.sync.freshness import refresh_bar_summary
from tests.browser.conftest import PASSWORD, log_in, serious_accessibility_violations
from tests.factories import make_run, make_run_error, make_security

pytestmark = pytest.mark.django_db(transaction=True)

LONG_ERROR = (
    "stopped, 1,188 of 1,312 ETF(s) not synced: eastmoney is refusing requests "
    "(push2his.eastmoney.com answered HTTP 403: <html><head><title>403 Forbidden</title></head>"
    "<body>Access denied: your IP has been blocked for too many requests</body></html>); "
    "all workers pause until 2026-11-30 16:30:00 CST; " * 3
)


def make_price_history(security, days: int, seed: int = 7) -> None:
    """A seeded random walk of weekday bars from 2024-01-02, so the chart looks like one."""
    rng = random.Random(seed)
    price, day, bars = 3.5, dt.date(2024, 1, 2), []
    while len(bars) < days:
        if day.weekday() < 5:
            open_ = price
            close = max(0.5, open_ * (1 + rng.gauss(0, 0.015)))
            high = max(open_, close) * (1 + abs(rng.gauss(0, 0.006)))
            low = min(open_, close) * (1 - abs(rng.gauss(0, 0.006)))
            volume = rng.randint(20_000, 90_000) * 100
            bars.append(
                DailyBar(
                    security=security,
                    trade_date=day,
                    open=Decimal(f"{open_:.3f}"),
                    high=Decimal(f"{high:.3f}"),
                    low=Decimal(f"{low:.3f}"),
                    close=Decimal(f"{close:.3f}"),
                    volume=volume,
                    amount=Decimal(f"{volume * close:.3f}"),
                )
            )
            price = close
        day += dt.timedelta(days=1)
    DailyBar.objects.bulk_create(bars)
    # Bars written around the upsert: keep the stored summary as the upsert would, so the page
    # shows the freshness a sync would have left.
    refresh_bar_summary([security.pk])


@pytest.fixture
def admin_user():
    return User.objects.create_superuser("admin", password=PASSWORD)


@pytest.fixture
def scene(admin_user):
    """Funds on both exchanges, a month of finished runs, one price run in progress, a pause."""
    etf = make_security("510300", name="沪深300ETF华泰柏瑞")
    make_price_history(etf, 250)
    make_security("159915", "XSHE", name="创业板ETF易方达")
    make_security("512880", name="证券ETF国泰中证全指证券公司交易型开放式指数证券投资基金联接")
    make_security("600000", name="浦发银行", is_etf=False)
    now = timezone.now()
    for index in range(30):
        finished = now - dt.timedelta(hours=30 - index)
        make_run(
            kind="etf_prices" if index % 2 else "etf_lists",
            status=("succeeded", "succeeded", "partial", "failed")[index % 4],
            trigger="schedule",
            started_at=finished - dt.timedelta(seconds=40 + 37 * index),
            finished_at=finished,
            queued_at=finished - dt.timedelta(seconds=41 + 37 * index),
            rows_fetched=1_000 * index,
            rows_created=900 * index,
            rows_unchanged=14_766_271 if index == 29 else 100,
            error_summary=LONG_ERROR if index == 29 else "",
            items_total=1312,
            items_done=1312,
        )
    running = make_run(
        kind="etf_prices",
        status="running",
        trigger="admin",
        requested_by=admin_user,
        scope="etf_prices",
        queued_at=now - dt.timedelta(minutes=6, seconds=1),
        started_at=now - dt.timedelta(minutes=6),
        first_item_at=now - dt.timedelta(minutes=5),
        items_total=1312,
        items_done=441,
        rows_fetched=882_112,
        rows_created=1_020,
        rows_unchanged=720_400,
    )
    for number in range(3):
        make_run(
            kind="etf_prices",
            status="succeeded" if number == 0 else "running",
            trigger="admin",
            parent=running,
            scope="",
            queued_at=now - dt.timedelta(minutes=6),
            started_at=now - dt.timedelta(minutes=6),
            items_total=50,
            items_done=50 if number == 0 else 20,
        )
    for index in range(75):
        make_run_error(
            running,
            f"{159000 + index}: cannot reach push2his.eastmoney.com: read timed out (20 s)",
            code=f"{159000 + index}",
        )
    make_run_error(
        running,
        "bar of 2024-03-01: high 1.020 below close 1.050",
        code="510300",
        severity="rejected",
        detail="2024-03-01,1.000,1.050,1.020,0.990,12345,1296000",
    )
    SourceCooldown.objects.create(
        source="eastmoney", until=now + dt.timedelta(minutes=12), reason=LONG_ERROR
    )
    return {"etf": etf, "running": running}


def assert_accessible(page) -> None:
    violations = serious_accessibility_violations(page)
    assert violations == [], "\n".join(violations)


def assert_fits(page, selector: str = "") -> None:
    """The page needs no sideways scrolling, nor does ``selector`` (a list's own scroll box)."""
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the window"
    if selector:
        overflow = page.evaluate(
            "(s) => { const e = document.querySelector(s); return e.scrollWidth - e.clientWidth; }",
            selector,
        )
        assert overflow <= 1, f"{selector} overflows by {overflow} px"


def test_front_page(browser_page, live_server, scene, screenshot):
    page = browser_page
    log_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/admin/")
    screenshot(page, "front-page")

    overview = page.locator("#etfsync-overview").inner_text()
    assert "Last ETF list run" in overview and "Last ETF price run" in overview
    assert "Run #" in overview
    assert page.locator("#etfsync-overview progress").count() == 1  # the run in progress
    assert page.locator("#run-trend rect").count() == 60  # 30 runs, two charts
    # A long error must not squeeze the label column to a letter a line.
    label_width = page.locator("#etfsync-overview th[scope=row]").first.bounding_box()["width"]
    assert label_width > 100
    assert_fits(page)
    assert_accessible(page)


def test_security_list_with_filters(browser_page, live_server, scene, screenshot):
    page = browser_page
    log_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/admin/etfs/stockinfo/")
    screenshot(page, "all")
    page.click("#changelist-filter a:text-is('Shenzhen (XSHE)')")
    page.wait_for_url("**exchange__exact=XSHE**")
    screenshot(page, "shenzhen")

    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and "159915" in rows.first.inner_text()
    assert page.locator("#content a.addlink").count() == 0  # synced data: no "Add"
    assert_fits(page, "#changelist .results")
    assert_accessible(page)


def test_etf_page_with_its_chart(browser_page, live_server, scene, screenshot):
    page = browser_page
    log_in(page, live_server, "admin")
    etf = scene["etf"]

    page.goto(f"{live_server.url}/admin/etfs/stockinfo/{etf.pk}/change/")
    page.wait_for_selector("#price-chart[data-points]")
    daily_points = int(page.get_attribute("#price-chart", "data-points"))
    legend = page.locator("#price-chart-legend").inner_text()
    canvases = page.locator("#price-chart canvas").count()
    screenshot(page, "daily")
    page.click("#price-history a:text-is('Weekly')")
    page.wait_for_selector("#price-chart[data-points]")
    weekly_points = int(page.get_attribute("#price-chart", "data-points"))
    screenshot(page, "weekly")

    assert daily_points == 250
    last = DailyBar.objects.filter(security=etf).latest("trade_date")
    assert legend.startswith(f"{last.trade_date}  O {last.open:.3f}")  # the latest bar
    assert 50 <= weekly_points <= 53  # 250 trading days
    assert canvases >= 2  # the price pane and the volume pane are drawn
    assert page.locator("#bars-table tbody tr").count() == 50  # the first page of weeks
    assert page.locator("input[name=_save]").count() == 0  # read-only
    assert_accessible(page)


def test_a_run_in_progress_then_finished(browser_page, live_server, scene, screenshot):
    page = browser_page
    log_in(page, live_server, "admin")
    run = scene["running"]

    page.goto(f"{live_server.url}/admin/etfs/syncrun/")
    screenshot(page, "list")
    assert_fits(page, "#changelist .results")
    listed = page.locator("#result_list tbody tr").count()
    page.goto(f"{live_server.url}/admin/etfs/syncrun/{run.pk}/change/")
    screenshot(page, "running")
    running_text = page.locator("#run-progress").inner_text()
    groups = page.locator("#problem-groups tbody tr").count()
    has_delete = page.locator("a.deletelink").count()
    assert_accessible(page)
    # The worker finishes; the page refreshes itself (every 5 s while active).
    SyncRun.objects.filter(pk=run.pk).update(
        status="succeeded", finished_at=timezone.now(), items_done=1312
    )
    page.wait_for_selector("#run-progress .run-status-succeeded", timeout=20_000)
    screenshot(page, "finished")

    assert listed == 31  # 30 finished + the running parent; its 3 chunks are not listed
    assert "441 of 1,312 (33%): its 3 chunks added up" in running_text
    assert "Time left" in running_text and "since the first item" in running_text
    assert groups == 2  # 75 unreachable ETFs are one kind; one rejected bar another
    assert has_delete == 0
    assert page.locator("a.deletelink").count() == 1
    assert page.locator("#run-chunks tbody tr").count() == 3


def test_export_bars_from_an_etf_page(browser_page, live_server, scene, screenshot):
    page = browser_page
    log_in(page, live_server, "admin")
    etf = scene["etf"]
    page.goto(
        f"{live_server.url}/admin/etfs/stockinfo/{etf.pk}/change/?from=2024-02-01&to=2024-02-29"
    )
    screenshot(page, "range")

    with page.expect_download() as download:
        page.click("#export-bars")
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))

    assert rows[0][:3] == ["code", "exchange", "trade_date"]
    assert {row[0] for row in rows[1:]} == {"510300"}
    assert rows[1][2] == "2024-02-01" and rows[-1][2] == "2024-02-29"
    page.goto(f"{live_server.url}/admin/etfs/dailybar/export/?codes=510300+159915")
    screenshot(page, "form")
    assert_accessible(page)


def test_an_api_token_is_made_and_shown_once(browser_page, live_server, scene, screenshot):
    page = browser_page
    log_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/admin/etfs/apitoken/add/")
    page.fill("#id_name", "nightly cron")
    page.click("input[name=_save]")
    message = page.locator(".messagelist").inner_text()
    screenshot(page, "made")

    assert "The token for “nightly cron” is" in message
    assert "will not be shown again" in message
    assert_accessible(page)


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/etfs/syncrun/", "run", "etf"], ids=["front", "runs", "run", "etf"]
)
def test_the_dark_theme_is_accessible_too(browser_page, live_server, scene, screenshot, path):
    page = browser_page
    log_in(page, live_server, "admin")
    page.evaluate("() => localStorage.setItem('theme', 'dark')")
    if path == "run":
        path = f"/admin/etfs/syncrun/{scene['running'].pk}/change/"
    elif path == "etf":
        path = f"/admin/etfs/stockinfo/{scene['etf'].pk}/change/"

    page.goto(live_server.url + path)
    if "stockinfo" in path:
        page.wait_for_selector("#price-chart[data-points]")
    screenshot(page, "dark")

    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    assert_accessible(page)


@pytest.mark.parametrize(
    ("slug", "name", "noun"), [("prices", "ETFs", "ETFs"), ("stock-prices", "stocks", "Stocks")]
)
def test_the_price_buttons_confirm_their_plans(
    browser_page, live_server, scene, screenshot, slug, name, noun
):
    page = browser_page
    log_in(page, live_server, "admin")

    page.goto(f"{live_server.url}/admin/etfs/stockinfo/sync-{slug}/")
    screenshot(page, f"{slug}-plan")

    plan = page.locator("#price-plan").inner_text()
    assert f"A price run of all the listed {name} " in page.locator("#content-main").inner_text()
    assert plan.startswith("Last final day: ")
    assert f"{noun}: " in plan and " up to date, " in plan
    assert page.locator("input[type=submit][value='Start the price sync']").count() == 1
    assert_fits(page)
    assert_accessible(page)
