"""The full sync job: what the registry knows of it."""

from __future__ import annotations

from django.conf import settings

from etfs.models import SyncKind

from ..job import Job, ScheduleSpec
from .service import FullSyncOptions, sync_everything

JOB = Job(
    kind=SyncKind.FULL_SYNC,
    options=FullSyncOptions,
    run=sync_everything,
    button="Full sync",
    slug="full-sync",
    schedules=(
        # The daily update of both universes after the close: the calendar, then the day of
        # every ETF and every stock from one pass over each list.
        ScheduleSpec(
            "etfsync: daily update of ETFs and stocks (after the close)",
            lambda: settings.ETFSYNC_AFTER_CLOSE_CRON,
            {"daily": True},
        ),
    ),
)
