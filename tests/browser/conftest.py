"""A real Chromium for the admin pages, full-page screenshots, and an accessibility check.

Screenshots go to ETFSYNC_SCREENSHOT_DIR (default: browser-screenshots/ in the checkout; it is
gitignored and CI keeps it as an artifact), one PNG per page state, named after the test.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from django.db import connections

from tests.conftest import CHROMIUM

PASSWORD = "a-long-test-password"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("ETFSYNC_SCREENSHOT_DIR") or ROOT / "browser-screenshots")
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
# The narrowest desktop width the pages are designed for (issue 12: counters fit at 1,280 px).
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture
def browser_page(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # plain synchronous code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
        page.set_default_timeout(15_000)
        yield page
        browser.close()
        # ORM calls made while Playwright's loop runs get their own connection (Django keys
        # connections by async context); close it here or the test database cannot be dropped.
        connections.close_all()


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


@pytest.fixture
def screenshot(request):
    """``screenshot(page, "state")`` saves <dir>/<test name>--<state>.png, the whole page."""

    def take(page, state: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
        path = SCREENSHOTS / f"{name}--{state}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical WCAG 2 A/AA violations on the page, one line each."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
                resultTypes: ["violations"],
            });
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => ({id: v.id, help: v.help,
                            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }"""
    )
    return [f"{v['id']}: {v['help']} at {json.dumps(v['nodes'])}" for v in violations]
