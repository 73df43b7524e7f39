"""A queued price sync fans out into chunk runs that a real two-worker django-q2 cluster runs.

The cluster runs in its own processes on this test's database, against the fake Eastmoney.
The fake's histories end 2024-03-29 while the cluster uses the wall clock: every bar lies in
the past, so that changes nothing.
"""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from etfs.models import DailyBar, SyncKind, SyncRun, SyncStatus
from etfs.sync.lists import sync_etf_lists
from etfs.sync.queue import enqueue_sync

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

PROJECT = Path(__file__).resolve().parent.parent
FUNDS = 8
CHUNK_ETFS = 3  # 8 funds -> chunks of 3, 3 and 2
TIMEOUT_SECONDS = 90


def database_url() -> str:
    """This test's database, for the cluster's settings_test (TEST_DATABASE_URL)."""
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{settings['NAME']}"


@contextmanager
def qcluster(server_url: str, log_path: Path):
    """``manage.py qcluster`` with two workers, in its own process group, stopped on exit."""
    environment = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="etfsync_site.settings_test",
        TEST_DATABASE_URL=database_url(),
        ETFSYNC_TEST_PUSH2_URL=server_url,
        ETFSYNC_TEST_PUSH2HIS_URL=server_url,
        ETFSYNC_PRICE_CHUNK_ETFS=str(CHUNK_ETFS),
        Q_WORKERS="2",
        Q_POLL="0.2",
        PYTHONUNBUFFERED="1",
    )
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=PROJECT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the cluster's process group (its workers too); SIGKILL whatever lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


def wait_until_final(run: SyncRun, process: subprocess.Popen, log_path: Path) -> SyncRun:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_final:
            return run
        if process.poll() is not None:
            break
        time.sleep(0.25)
    chunks = list(run.chunks.values_list("id", "status"))
    log = log_path.read_text(errors="replace")[-3000:]
    pytest.fail(
        f"run #{run.pk} is {run.status} after {TIMEOUT_SECONDS} s (chunks {chunks}); "
        f"qcluster log:\n{log}"
    )


def test_a_queued_price_sync_fans_out_into_chunks_run_by_two_workers(
    start_fake_eastmoney, settings, tmp_path
):
    settings.ETFSYNC_PRICE_CHUNK_ETFS = CHUNK_ETFS
    server = start_fake_eastmoney(FUNDS)
    sync_etf_lists()
    served = sum(len(fund.bars) for fund in server.funds.values())
    log_path = tmp_path / "qcluster.log"

    with qcluster(server.url, log_path) as process:
        parent, created = enqueue_sync(SyncKind.ETF_PRICES, "admin", {"start_year": 2024})
        assert created
        parent = wait_until_final(parent, process, log_path)

    chunks = list(parent.chunks.order_by("id"))
    assert parent.status == SyncStatus.SUCCEEDED, parent.error_summary
    assert parent.trigger == "admin"
    assert len(chunks) == 3
    assert sorted(len(chunk.parameters["codes"]) for chunk in chunks) == [2, 3, 3]
    codes = [code for chunk in chunks for code in chunk.parameters["codes"]]
    assert sorted(codes) == sorted(fund.code for fund in server.funds.values())
    assert {chunk.status for chunk in chunks} == {SyncStatus.SUCCEEDED}
    assert all(chunk.task_id for chunk in chunks)
    assert all(chunk.parameters["start_year"] == 2024 for chunk in chunks)
    assert parent.rows_created == sum(chunk.rows_created for chunk in chunks)
    assert parent.rows_created == DailyBar.objects.count() == served
    assert (parent.items_total, parent.items_done, parent.items_failed) == (FUNDS, FUNDS, 0)
    assert sum(chunk.items_done for chunk in chunks) == FUNDS
    assert parent.finished_at >= max(chunk.finished_at for chunk in chunks)
    assert len(server.paths("/api/qt/stock/kline/get")) == FUNDS
