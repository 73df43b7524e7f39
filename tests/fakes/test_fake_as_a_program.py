"""The fake Eastmoney as docs/operations.md's offline recipe and the benchmarks start it: a
program of its own, with no Django settings or SECRET_KEY in its environment."""

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_runs_without_django_settings_and_serves_the_list():
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")
    }
    command = [sys.executable, "-m", "tests.fakes.eastmoney", "--port", str(port), "--funds", "3"]
    process = subprocess.Popen(
        command, cwd=PROJECT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        ready = process.stdout.readline().decode()
        assert "fake Eastmoney serving 3 funds" in ready, process.stderr.read().decode()
        url = f"http://127.0.0.1:{port}/api/qt/clist/get?pn=1&pz=100&np=1&fltt=2&fid=f12"
        with urllib.request.urlopen(url, timeout=10) as answer:
            payload = json.load(answer)
        assert payload["data"]["total"] == 3
    finally:
        process.terminate()
        process.wait(timeout=10)
