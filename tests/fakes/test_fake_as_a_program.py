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


def start(module: str, port: int, *options: str) -> subprocess.Popen:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")
    }
    command = [sys.executable, "-m", module, "--port", str(port), *options]
    return subprocess.Popen(
        command, cwd=PROJECT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def read_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


def test_both_programs_serve_the_same_stock_market_with_stocks():
    eastmoney_port, exchanges_port = free_port(), free_port()
    eastmoney = start("tests.fakes.eastmoney", eastmoney_port, "--funds", "2", "--stocks", "20")
    exchanges = start("tests.fakes.exchanges", exchanges_port, "--stocks", "20")
    try:
        ready = eastmoney.stdout.readline().decode()
        assert "serving 2 funds and 20 stocks" in ready, eastmoney.stderr.read().decode()
        ready = exchanges.stdout.readline().decode()
        assert "the lists of 20 stocks" in ready, exchanges.stderr.read().decode()
        clist = f"http://127.0.0.1:{eastmoney_port}/api/qt/clist/get?pn=1&pz=100&np=1&fltt=2"
        boards = {}
        for board in ("m:1+t:2", "m:1+t:23", "m:0+t:6", "m:0+t:80"):
            rows = read_json(f"{clist}&fid=f12&fields=f12,f14&fs={board}")["data"]["diff"]
            boards[board] = {row["f12"] for row in rows}
        assert [len(codes) for codes in boards.values()] == [5, 5, 5, 5]
        st = read_json(f"{clist}&fid=f12&fields=f12,f14&fs=m:0+f:4,m:1+f:4")["data"]["diff"]
        assert [row["f14"][:3] for row in st] == ["*ST", "*ST"]

        szse = f"http://127.0.0.1:{exchanges_port}/api/report/ShowReport/data?SHOWTYPE=JSON"
        listed = read_json(f"{szse}&CATALOGID=1110&TABKEY=tab1")[0]
        shenzhen = boards["m:0+t:6"] | boards["m:0+t:80"]
        assert listed["metadata"]["recordcount"] == len(shenzhen) == 10
        assert all(any(code in row["agdm"] for code in shenzhen) for row in listed["data"])
        gone = read_json(f"{szse}&CATALOGID=1793_ssgs&TABKEY=tab2")[1]["data"]
        assert [(row["zqdm"], row["zzrq"]) for row in gone] == [("000006", "2002-06-14")]
    finally:
        for process in (eastmoney, exchanges):
            process.terminate()
            process.wait(timeout=10)
