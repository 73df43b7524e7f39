"""How numbers, durations, statuses and progress read on the admin's pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.html import format_html

from etfs.models import SyncRun, SyncStatus


def grouped(value, places: int | None = None) -> str:
    """Thousands grouped with commas: 14,766,271,323.900 rather than 14766271323.900."""
    if value is None or value == "":
        return "-"
    if places is None:
        places = -value.as_tuple().exponent if isinstance(value, Decimal) else 0
    return f"{value:,.{max(places, 0)}f}"


def number(value, places: int | None = None) -> str:
    """A stored number as people read it: grouped, without the column's trailing zeros.

    0.05000000 reads "0.05", 1,240,000.0000 reads "1,240,000", 3.9120 reads "3.912". With
    ``places`` it is rounded there first (factors: "1.020408" rather than 20 decimals).
    """
    if value is None or value == "":
        return "-"
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    value = value.normalize()
    return grouped(value, max(0, -value.as_tuple().exponent))


def shares(value) -> str:
    """A volume in whole shares (an adjusted volume is a fraction of the stored one)."""
    if value is None or value == "":
        return "-"
    return grouped(int(Decimal(str(value)).to_integral_value()))


def factor(value) -> str:
    """An adjustment factor or step: six decimals are a millionth of a price, finer than any
    price the exchanges quote."""
    return number(value, 6)


REVISED_FIELDS = ("open", "high", "low", "close", "volume", "amount")


def revision_changes(revision) -> list[tuple[str, str, str]]:
    """(field, old, new) for each value of a bar the source changed, as people read them."""
    changes = []
    for name in REVISED_FIELDS:
        old, new = getattr(revision, f"old_{name}"), getattr(revision, f"new_{name}")
        if old != new:
            changes.append((name, number(old), number(new)))
    return changes


def short_duration(value: dt.timedelta | None) -> str:
    """ "2 h 03 min", "3 min 12 s", "45 s": what a person reads at a glance."""
    if value is None:
        return "-"
    seconds = max(0, int(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def status_badge(run: SyncRun) -> str:
    """The run's status as a coloured label (colours in static/etfsync/admin.css)."""
    return format_html(
        '<span class="run-status run-status-{}">{}</span>', run.status, run.get_status_display()
    )


def progress_bar(done: int, total: int) -> str:
    """A native <progress> element (read out by screen readers) with the numbers beside it."""
    if not total:
        return format_html('<span class="run-progress-text">{}</span>', grouped(done))
    return format_html(
        '<span class="run-progress"><progress value="{}" max="{}" aria-label="{} of {} done">'
        '</progress> <span class="run-progress-text">{}/{}</span></span>',
        done,
        total,
        done,
        total,
        grouped(done),
        grouped(total),
    )


def run_progress_cell(run: SyncRun) -> str:
    if run.status in (SyncStatus.QUEUED, SyncStatus.RUNNING):
        return progress_bar(run.items_done, run.items_total)
    if not run.items_total:
        return "-"
    if run.items_done == run.items_total:
        return grouped(run.items_total)
    return f"{grouped(run.items_done)}/{grouped(run.items_total)}"


def started_by(run: SyncRun) -> str:
    """ "Admin: alice", "API: robot", "Schedule", "Command"."""
    trigger = run.get_trigger_display()
    return f"{trigger}: {run.requested_by}" if run.requested_by_id else trigger
