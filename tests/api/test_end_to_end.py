"""POST to the API, a real qcluster runs the queued sync, GET shows the run finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from etfs.models import StockInfo

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

PROJECT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


def database_url() -> str:
    """This test's database, for the cluster's settings_test."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


@pytest.fixture
def cluster(fake_eastmoney, tmp_path):
    environment = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="etfsync_site.settings_test",
        TEST_DATABASE_URL=database_url(),
        ETFSYNC_TEST_PUSH2_URL=fake_eastmoney.url,
        ETFSYNC_TEST_PUSH2HIS_URL=fake_eastmoney.url,
        Q_WORKERS="1",
        Q_POLL="0.2",
    )
    log_path = tmp_path / "qcluster.log"
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
    yield process
    # SIGTERM to the main process lets it stop its workers in order; then clear the group.
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


def test_a_list_sync_queued_through_the_api_finishes_on_the_cluster(cluster, api):
    queued = api.post("/api/sync/etf/lists", {"exchange_codes": ["XSHG"]})
    assert queued.status_code == 202
    poll = queued.json()["url"].removeprefix("http://testserver")

    deadline = time.monotonic() + WAIT_SECONDS
    run = api.get(poll).json()
    while run["status"] in ("queued", "running") and time.monotonic() < deadline:
        assert cluster.poll() is None, cluster.log_path.read_text()
        time.sleep(0.2)
        run = api.get(poll).json()

    assert run["status"] == "succeeded", cluster.log_path.read_text()[-3000:]
    assert run["finished_at"] is not None
    assert run["counters"]["items_done"] == 1
    assert run["counters"]["rows_created"] == 3
    assert set(StockInfo.objects.etfs().values_list("exchange", flat=True)) == {"XSHG"}
