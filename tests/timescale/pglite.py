"""Start the PGlite TimescaleDB server (server.mjs) for the lane's tests and for bench/."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent


def missing_requirement() -> str | None:
    """Why the server cannot start here, or None."""
    if not (HERE / "node_modules" / "@unni-craftsman" / "pglite").is_dir():
        return "tests/timescale/node_modules is not installed: run `npm ci` in tests/timescale"
    if shutil.which("node") is None:
        return "node is not on PATH (the PGlite TimescaleDB server is a Node.js program)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def pglite_timescaledb(start_timeout: float = 60) -> Iterator[int]:
    """Run the server on a free port on 127.0.0.1; yield the port."""
    port = free_port()
    # Its stdin is a pipe: the server stops when that closes, even if this process is killed.
    process = subprocess.Popen(
        ["node", "server.mjs", "--port", str(port)],
        cwd=HERE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read_output():
        for line in process.stdout:
            output.append(line)
            if line.startswith("READY "):
                ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    deadline = time.monotonic() + start_timeout
    while not ready.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError("the PGlite TimescaleDB server did not start:\n" + "".join(output))
    try:
        yield port
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
