"""``manage.py serve``: the web server and the workers from one command, stopped together."""

import os
import re
import signal
import subprocess
import sys
import urllib.request

import psutil
import pytest
from django_q.models import Task
from django_q.tasks import async_task

from tests.qcluster import PROJECT, database_url, wait_until

pytestmark = pytest.mark.qcluster


def answers(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return ""


def test_one_command_serves_the_admin_runs_a_worker_and_ctrl_c_stops_both(
    transactional_db, closed_port_url
):
    address = closed_port_url.removeprefix("http://")  # a free port
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "etfsync_site.settings_test",
        "TEST_DATABASE_URL": database_url(),
        "Q_WORKERS": "1",
        "Q_POLL": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    serve = subprocess.Popen(
        [sys.executable, "manage.py", "serve", address],
        cwd=PROJECT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        login = wait_until(
            lambda: answers(f"http://{address}/admin/login/"), "the admin answering", timeout=60
        )
        task_id = async_task("math.floor", 2.5)
        task = wait_until(
            lambda: Task.objects.filter(id=task_id).first(), "the worker taking a task", timeout=60
        )
        serve.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output = serve.communicate(timeout=60)[0]
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()

    assert "etfsync" in login and 'name="password"' in login
    assert task.success and task.result == 2
    started = dict(re.findall(r"(web|worker) started \(pid=(\d+)\)", output))
    assert started.keys() == {"web", "worker"}, output
    assert "SIGINT received" in output
    assert not [pid for pid in started.values() if psutil.pid_exists(int(pid))]
    assert serve.returncode == 0, output
