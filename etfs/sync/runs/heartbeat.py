"""A run's heartbeat, beaten by a thread of its own while the run's work goes on.

Beats sent only between fund results stop when one request hangs or one batch takes long, and
stale-run recovery then fails a run that is still working. The thread beats every few seconds
whatever the work is doing, on its own database connection, and only while the run is still
running: it never revives a run that recovery or a cancel has ended.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from etfs.models import SyncRun, SyncStatus

logger = logging.getLogger(__name__)


def heartbeat_interval() -> float:
    """Seconds between beats: the setting, but at most a fifth of the stale limit."""
    return max(0.2, min(settings.ETFSYNC_HEARTBEAT_SECONDS, settings.ETFSYNC_STALE_RUN_SECONDS / 5))


class Heartbeat:
    """``with Heartbeat(run):`` beats ``run`` (and its parent, if a chunk) until the block ends."""

    def __init__(self, run: SyncRun, interval: float | None = None):
        self.run_ids = [run.pk] + ([run.parent_id] if run.parent_id else [])
        self.interval = interval if interval is not None else heartbeat_interval()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat_until_stopped, name=f"heartbeat-run-{run.pk}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _beat_until_stopped(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self.beat()
        finally:
            connection.close()  # this thread's own connection

    def beat(self) -> None:
        try:
            SyncRun.objects.filter(pk__in=self.run_ids, status=SyncStatus.RUNNING).update(
                heartbeat_at=timezone.now()
            )
        except DatabaseError as exc:
            # The database is away: drop the connection and try again at the next beat. If it
            # stays away longer than the stale limit, recovery fails the run, as it should.
            logger.warning("heartbeat of run #%s not recorded: %s", self.run_ids[0], exc)
            connection.close()
