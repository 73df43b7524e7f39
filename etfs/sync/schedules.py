"""The django-q2 schedules: created or corrected idempotently, paused and resumed.

A paused schedule has ``repeats = 0``, which django-q2's scheduler skips; resuming gives it
``repeats = -1`` (for ever, as created) and its next time from now, so it does not fire at once
for the times it missed.
"""

import ast

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from etfs.models import SyncKind


# Cron in settings.TIME_ZONE (Asia/Shanghai). The task itself skips exchange holidays.
# name: (cron, scheduled_sync arguments). The calendar learns yesterday's trading day from the
# index before the list sync, and today's once the day has settled, just before the after-close
# price run: a source whose list is late that day then meets a known trading day (and stops
# instead of calling it a holiday). The daily price run takes the day's bars from the list
# endpoint (on a day the calendar does not know yet, the list's trade date decides whether it
# traded);
# the Saturday run re-reads each fund's recent bars (the look-back window) from the k-line
# endpoint to pick up the source's corrections.
def schedules() -> dict:
    return {
        "etfsync: trading calendar (every morning)": (
            "45 7 * * *",
            (SyncKind.CALENDAR, {}, False),
        ),
        "etfsync: trading calendar (after the close)": (
            settings.ETFSYNC_CALENDAR_AFTER_CLOSE_CRON,
            (SyncKind.CALENDAR, {}, False),
        ),
        "etfsync: ETF lists (trading-day mornings)": ("0 8 * * 1-5", (SyncKind.ETF_LISTS,)),
        "etfsync: ETF prices (after the close)": (
            settings.ETFSYNC_AFTER_CLOSE_CRON,
            (SyncKind.ETF_PRICES, {"from_list": True}),
        ),
        "etfsync: ETF price corrections (Saturdays)": (
            "0 9 * * 6",
            (SyncKind.ETF_PRICES, {}, False),
        ),
        # Events of last year and this one, and the cross-check against the source's adjusted
        # k-lines. Weekly is enough most of the year: an event listed late is still caught before
        # anyone reads a week of bars across it.
        "etfsync: corporate actions and cross-check (Saturdays)": (
            "0 10 * * 6",
            (SyncKind.CORPORATE_ACTIONS, {"cross_check": True}, False),
        ),
        # Most ETF distributions fall in November to January (510050: every ex-date since 2012),
        # when a daily pass after the close (about 130 list pages) keeps factors current.
        # Today's suspension snapshot after the close (suspensions announced during the day
        # included): the day's missing bars of suspended securities are explained at once.
        "etfsync: suspensions (after the close)": (
            "30 16 * * 1-5",
            (SyncKind.SUSPENSIONS, {}),
        ),
        "etfsync: corporate actions (daily, November to January)": (
            "0 18 * 11,12,1 1-5",
            (SyncKind.CORPORATE_ACTIONS,),
        ),
    }


RECOVERY = "etfsync: mark dead runs failed (every 5 minutes)"


def ensure_schedules() -> list[tuple[str, bool]]:
    """Create the schedules that are missing and correct changed ones; (name, created) each."""
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
    for name, (cron, arguments) in schedules().items():
        _, created = Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": "etfs.tasks.scheduled_sync",
                "args": repr(tuple(_plain(argument) for argument in arguments)),
                # The task records the schedule on the run it starts (SyncRun.schedule).
                "kwargs": repr({"schedule": name}),
                "schedule_type": Schedule.CRON,
                "cron": cron,
                "repeats": -1,
            },
        )
        results.append((name, created))
    return results


def _plain(value):
    """Schedule arguments are stored as a Python literal: enum members become strings."""
    return value.value if isinstance(value, SyncKind) else value


PAUSED = 0
FOR_EVER = -1


def sync_schedules():
    """The schedules that start sync runs (the recovery check is not one), soonest first."""
    return Schedule.objects.filter(func="etfs.tasks.scheduled_sync").order_by("next_run", "name")


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
