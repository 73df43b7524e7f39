"""The django-q2 schedules, created or corrected idempotently."""

from django.conf import settings
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
