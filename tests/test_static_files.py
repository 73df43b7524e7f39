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


def site_environment(tmp_path) -> dict:
    """The site's settings on a fresh SQLite file and static folder, DEBUG off."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "etfsync_site.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
        "DEBUG": "false",
        "SECRET_KEY": "a-test-secret-key-that-is-long-enough-to-pass-any-check-0123456789",
    }


@pytest.fixture
def runserver(tmp_path):
    """`manage.py runserver` exactly as README gives it: ``runserver(collected=False)``."""
    servers = []

    def start(collected: bool = False) -> str:
        env = site_environment(tmp_path)
        if collected:
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
                cwd=ROOT,
                env=env,
                check=True,
            )
        server, url = start_server(env)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.terminate()
        server.wait(timeout=10)


def start_server(env: dict):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            requests.get(url + "/admin/login/", timeout=1)
            return server, url
        except requests.ConnectionError:
            if server.poll() is not None:
                pytest.fail(f"runserver exited: {server.stderr.read().decode()}")
            time.sleep(0.25)
    server.terminate()
    pytest.fail("runserver did not answer within 30 s")


CHART = "/static/vendor/lightweight-charts/lightweight-charts.standalone.production.js"


def test_runserver_with_debug_off_serves_the_admin_styles_and_the_chart_library(runserver):
    url = runserver()
    css = requests.get(url + "/static/admin/css/base.css", timeout=5)
    chart = requests.get(url + CHART, timeout=5)
    missing = requests.get(url + "/static/admin/css/no-such-file.css", timeout=5)

    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert "--link-fg" in css.text  # the admin's real stylesheet, not an error page
    assert chart.status_code == 200
    assert "Lightweight Charts" in chart.text[:300]
    assert missing.status_code == 404


def test_after_collectstatic_the_compressed_copies_are_served(runserver):
    url = runserver(collected=True)
    chart = requests.get(url + CHART, headers={"Accept-Encoding": "gzip"}, timeout=5)

    assert chart.status_code == 200
    assert chart.headers["Content-Encoding"] == "gzip"
    assert int(chart.headers["Content-Length"]) < 100_000  # of 198 kB uncompressed
    assert "Lightweight Charts" in chart.text[:300]
