"""What the admin's front page shows above the app list: funds, bars, runs, pauses."""

from django import template
from django.utils import timezone

from etfs.models import SourceCooldown, StockInfo, SyncKind, SyncRun

register = template.Library()


@register.simple_tag
def etfsync_overview() -> dict:
    latest = {
        kind: SyncRun.objects.filter(kind=kind, parent=None).order_by("-queued_at").first()
        for kind in SyncKind.values
    }
    return {
        "etfs_by_exchange": StockInfo.objects.etf_count_by_exchange(),
        "latest_runs": [(SyncKind(kind).label, run) for kind, run in latest.items()],
        "active_runs": SyncRun.objects.active().filter(parent=None).count(),
        "cooldowns": list(SourceCooldown.objects.filter(until__gt=timezone.now())),
    }
