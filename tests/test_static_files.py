"""Static files are served by the Django process itself, as README starts it (DEBUG off)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def runserver(tmp_path):
    """`manage.py runserver` exactly as README gives it, on a fresh SQLite file, DEBUG off."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "etfsync_site.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "DEBUG": "false",
        "SECRET_KEY": "a-test-secret-key-that-is-long-enough-to-pass-any-check-0123456789",
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                requests.get(url + "/admin/login/", timeout=1)
                break
            except requests.ConnectionError:
                if server.poll() is not None:
                    pytest.fail(f"runserver exited: {server.stderr.read().decode()}")
                time.sleep(0.25)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_runserver_with_debug_off_serves_the_admin_styles_and_the_chart_library(runserver):
    css = requests.get(runserver + "/static/admin/css/base.css", timeout=5)
    chart = requests.get(
        runserver + "/static/vendor/lightweight-charts/lightweight-charts.standalone.production.js",
        timeout=5,
    )
    missing = requests.get(runserver + "/static/admin/css/no-such-file.css", timeout=5)

    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert "--link-fg" in css.text  # the admin's real stylesheet, not an error page
    assert chart.status_code == 200
    assert "Lightweight Charts" in chart.text[:300]
    assert missing.status_code == 404
