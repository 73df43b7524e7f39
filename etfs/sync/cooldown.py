"""A cooldown shared by every worker and process once a source starts refusing us.

The real hosts ban an IP for minutes to hours (shared/providers.md section 3); hammering them
then prolongs the ban. The first worker that sees a refusal records a cooldown in the database;
every run checks it before and while it fetches, and stops instead of asking again.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from etfs.models import SourceCooldown


def active_cooldown(source: str) -> SourceCooldown | None:
    return SourceCooldown.objects.filter(source=source, until__gt=timezone.now()).first()


def start_cooldown(source: str, reason: str) -> SourceCooldown:
    until = timezone.now() + dt.timedelta(seconds=settings.ETFSYNC_BAN_COOLDOWN_SECONDS)
    cooldown, _ = SourceCooldown.objects.update_or_create(
        source=source, defaults={"until": until, "reason": reason[:500]}
    )
    return cooldown


def describe(cooldown: SourceCooldown) -> str:
    local = timezone.localtime(cooldown.until)
    return (
        f"{cooldown.source} is refusing requests ({cooldown.reason}); all workers pause until "
        f"{local:%Y-%m-%d %H:%M:%S %Z}"
    )
