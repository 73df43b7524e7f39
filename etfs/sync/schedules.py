"""The django-q2 schedules, created or corrected idempotently."""

from django_q.models import Schedule

from etfs.models import SyncKind

# Cron in settings.TIME_ZONE (Asia/Shanghai). The task itself skips exchange holidays.
SCHEDULES = {
    "etfsync: ETF lists (trading-day mornings)": (SyncKind.ETF_LISTS, "0 8 * * 1-5"),
    "etfsync: ETF prices (after the close)": (SyncKind.ETF_PRICES, "45 15 * * 1-5"),
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
    for name, (kind, cron) in SCHEDULES.items():
        _, created = Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": "etfs.tasks.scheduled_sync",
                "args": repr(kind.value) + ",",
                "schedule_type": Schedule.CRON,
                "cron": cron,
                "repeats": -1,
            },
        )
        results.append((name, created))
    return results
