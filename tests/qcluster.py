"""A real django-q2 cluster for tests: ``manage.py qcluster`` in its own process group.

The cluster runs on this test's database (TEST_DATABASE_URL) and, given a fake Eastmoney,
against it: settings_test reads the fake's URLs from ETFSYNC_TEST_PUSH2_URL and
ETFSYNC_TEST_PUSH2HIS_URL. Tests start clusters through the ``start_qcluster`` fixture.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

PROJECT = Path(__file__).resolve().parent.parent
SETTINGS = "etfsync_site.settings_test"


def database_url() -> str:
    """The URL of the database this test uses, for the cluster's settings (TEST_DATABASE_URL)."""
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{settings['NAME']}"


class QCluster:
    """Starts qclusters, each logging to a file in ``log_dir``; ``stop`` (or leaving a ``with``
    block) stops every one of them."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self, server=None, *, settings_module: str = SETTINGS, **env: str):
        """Start a cluster against ``server`` (a fake Eastmoney); ``env`` adds or overrides
        variables (ETFSYNC_*, Q_WORKERS, Q_POLL). The process has the path of its log in
        ``log_path``."""
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in ("REDIS_URL", "DATABASE_URL")
        }
        environment.update(
            DJANGO_SETTINGS_MODULE=settings_module,
            TEST_DATABASE_URL=database_url(),
            Q_WORKERS="1",
            Q_POLL="0.2",
            PYTHONUNBUFFERED="1",
        )
        if server is not None:
            environment.update(
                ETFSYNC_TEST_PUSH2_URL=server.url, ETFSYNC_TEST_PUSH2HIS_URL=server.url
            )
        environment.update(env)
        log_path = self.log_dir / f"qcluster-{len(self.processes)}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=PROJECT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process.log_path = log_path
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            stop_process_group(process)

    def __enter__(self) -> QCluster:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def stop_process_group(process: subprocess.Popen) -> None:
    """Ask the cluster to stop, then SIGKILL whatever is left of its process group.

    SIGTERM goes to the main process only: it stops its sentinel and workers in order, which
    a SIGTERM to every process of the group at once would disturb.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


def log_tail(process: subprocess.Popen) -> str:
    """The end of a cluster's log."""
    return process.log_path.read_text(errors="replace")[-3000:]


def wait_until(condition, what, *, timeout: float = 30, process=None, interval=0.05):
    """Poll ``condition`` until it returns something true and return that; fail if it does not
    within ``timeout`` s or the cluster ``process`` ends, with the cluster's log.

    ``what`` names the awaited event: a string, or a callable that says it at the time of failure.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if process is not None and process.poll() is not None:
            break
        time.sleep(interval)
    log = "" if process is None else f"\nqcluster log:\n{log_tail(process)}"
    what = what() if callable(what) else what
    pytest.fail(f"{what} did not happen within {timeout} s{log}")
