"""The stock list job: what the registry knows of the stock list sync."""

from __future__ import annotations

from etfs.models import SyncKind

from ..job import Job, ScheduleSpec
from ..lists import ListOptions
from ..universe import STOCKS
from .service import sync_stock_list_job

JOB = Job(
    kind=SyncKind.STOCK_LISTS,
    options=ListOptions,
    run=sync_stock_list_job,
    button="Sync stock lists",
    slug="stock-lists",
    schedules=(ScheduleSpec("etfsync: stock lists (trading-day mornings)", "10 8 * * 1-5"),),
    universe=STOCKS,
)
