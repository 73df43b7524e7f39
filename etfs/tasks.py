"""django-q2 entry points: load the run, call the service, nothing else."""

from __future__ import annotations

import logging

from etfs.models import SyncKind, SyncRun, SyncTrigger
from etfs.sync.calendar import UnknownDay, is_trading_day, shanghai_now
from etfs.sync.calendar_sync import sync_calendar
from etfs.sync.chunks import run_price_sync
from etfs.sync.corporate_actions import ActionOptions, sync_corporate_actions
from etfs.sync.lists import sync_etf_lists
from etfs.sync.runs import create_run
from etfs.sync.runs import recover_stale_runs as _recover_stale_runs
from etfs.sync.suspensions import SuspensionOptions, sync_suspensions

logger = logging.getLogger(__name__)


def execute_run(run_id: int) -> str:
    run = SyncRun.objects.get(pk=run_id)
    if run.kind == SyncKind.ETF_LISTS:
        run = sync_etf_lists(run=run, exchanges=run.parameters.get("exchanges"))
    elif run.kind == SyncKind.CORPORATE_ACTIONS:
        run = sync_corporate_actions(ActionOptions.from_parameters(run.parameters), run=run)
    elif run.kind == SyncKind.CALENDAR:
        run = sync_calendar(run=run)
    elif run.kind == SyncKind.SUSPENSIONS:
        run = sync_suspensions(SuspensionOptions.from_parameters(run.parameters), run=run)
    else:
        run = run_price_sync(run)
    return f"run #{run.pk}: {run.status}"


def scheduled_sync(
    kind: str, parameters: dict | None = None, trading_days_only=True, schedule: str = ""
) -> str:
    """What a schedule fires: one run of ``kind`` (joined if one is active), on trading days.

    On a day the calendar does not know yet the run starts and asks the source itself. The
    run records the ``schedule`` that started it (its name), for the schedules page.
    """
    today = shanghai_now().date()
    if trading_days_only and not _maybe_trading_day(today):
        return f"{today} is not a trading day; nothing to do"
    run, created = create_run(kind, SyncTrigger.SCHEDULE, parameters or {})
    if not created:
        return f"run #{run.pk} is already {run.status}; not starting another"
    if schedule:
        SyncRun.objects.filter(pk=run.pk).update(schedule=schedule[:100])
    return execute_run(run.pk)


def _maybe_trading_day(day) -> bool:
    try:
        return is_trading_day(day)
    except UnknownDay:
        return True


def recover_stale_runs() -> str:
    return f"{_recover_stale_runs()} stale run(s) marked failed"
