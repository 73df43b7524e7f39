"""The django-q2 schedules of the registered jobs: created or corrected idempotently, paused
and resumed.

A paused schedule has ``repeats = 0``, which django-q2's scheduler skips; resuming gives it
``repeats = -1`` (for ever, as created) and its next time from now, so it does not fire at once
for the times it missed.
"""

import ast

from django.utils import timezone
from django_q.models import Schedule

from etfs.sync import registry

# The checks of `manage.py check_workers` (etfs/sync/liveness.py), from inside the cluster.
RECOVERY = "etfsync: mark dead runs failed (every 5 minutes)"
# The task a sync schedule fires (etfs/tasks.py), by dotted name as django-q2 stores it.
SCHEDULED_SYNC = "etfs.tasks.scheduled_sync"


# Schedules an earlier version created that no job declares any more: removed on upgrade, or
# they would go on firing. Both did again what the full sync's daily update does after the
# close: the ETF prices' run fired at the same minute and synced the same day of the same
# ETFs; the calendar's ten minutes earlier learned the day its first step learns.
RETIRED = ("etfsync: ETF prices (after the close)", "etfsync: trading calendar (after the close)")


def ensure_schedules() -> list[tuple[str, bool]]:
    """Create the schedules that are missing and correct changed ones; (name, created) each.

    One per schedule of each registered job (etfs/sync/registry.py; cron in
    settings.TIME_ZONE, Asia/Shanghai; the task itself skips exchange holidays), and the
    stale-run recovery. Retired schedules are deleted (``remove_retired_schedules``).
    """
    remove_retired_schedules()
    _, created = Schedule.objects.update_or_create(
        name=RECOVERY,
        defaults={
            "func": "etfs.tasks.recover_stale_runs",
            "args": "",
            "schedule_type": Schedule.MINUTES,
            "minutes": 5,
            "repeats": -1,
        },
    )
    results = [(RECOVERY, created)]
    for job, spec in registry.schedules():
        _, created = Schedule.objects.update_or_create(
            name=spec.name,
            defaults={
                "func": SCHEDULED_SYNC,
                "args": repr(schedule_arguments(job.kind.value, spec)),
                # The task records the schedule on the run it starts (SyncRun.schedule).
                "kwargs": repr({"schedule": spec.name}),
                "schedule_type": Schedule.CRON,
                "cron": spec.cron_expression(),
                "repeats": -1,
            },
        )
        results.append((spec.name, created))
    return results


def remove_retired_schedules() -> list[str]:
    """Delete the schedules of ``RETIRED``; the names of those that were there."""
    retired = Schedule.objects.filter(name__in=RETIRED)
    names = sorted(retired.values_list("name", flat=True))
    retired.delete()
    return names


def schedule_arguments(kind: str, spec) -> tuple:
    """scheduled_sync's arguments, as short as they can be written (stored as a literal)."""
    arguments: tuple = (kind,)
    if spec.parameters is not None or not spec.trading_days_only:
        arguments += (spec.parameters or {},)
    if not spec.trading_days_only:
        arguments += (False,)
    return arguments


PAUSED = 0
FOR_EVER = -1


def sync_schedules():
    """The schedules that start sync runs (the recovery check is not one), soonest first."""
    return Schedule.objects.filter(func=SCHEDULED_SYNC).order_by("next_run", "name")


def is_paused(schedule: Schedule) -> bool:
    return schedule.repeats == PAUSED


def pause_schedules(queryset) -> int:
    return queryset.exclude(repeats=PAUSED).update(repeats=PAUSED)


def resume_schedules(queryset) -> int:
    """Resume paused schedules from now on: the next time after now, not the missed ones."""
    resumed = 0
    for schedule in queryset.filter(repeats=PAUSED):
        schedule.repeats = FOR_EVER
        schedule.next_run = schedule.calculate_next_run(timezone.now())
        schedule.save(update_fields=["repeats", "next_run"])
        resumed += 1
    return resumed


def scheduled_kind_and_parameters(schedule: Schedule) -> tuple[str, dict]:
    """The sync kind and parameters a schedule's task is called with."""
    arguments = ast.literal_eval(schedule.args or "()")
    if not isinstance(arguments, tuple):
        arguments = (arguments,)
    kind = arguments[0] if arguments else ""
    parameters = arguments[1] if len(arguments) > 1 and arguments[1] else {}
    return kind, parameters
