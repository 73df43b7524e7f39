"""The stale-run check running beside a test's run, as its schedule would every few minutes."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django.db import connection

from etfs.sync.runs import recover_stale_runs


@contextmanager
def recovering_all_along(every: float = 0.2):
    """Run ``recover_stale_runs`` every ``every`` seconds in a thread while the block runs;
    yields the list of what each call returned (how many runs it marked failed)."""
    recovered: list[int] = []
    stop = threading.Event()

    def recover() -> None:
        try:
            while not stop.wait(every):
                recovered.append(recover_stale_runs())
        finally:
            connection.close()

    watcher = threading.Thread(target=recover, daemon=True)
    watcher.start()
    try:
        yield recovered
    finally:
        stop.set()
        watcher.join()
