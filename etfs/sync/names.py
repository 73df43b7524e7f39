"""Names are history: each name a security carried, from the day a list sync first saw it.

Stock names carry transient marks (``N``/``C`` of a new listing, ``ST``, ``*ST``, ``退``,
``-U``; shared/providers.md section 8), so a name is never a key: a new name is a new row of
``SecurityName``, the old ones stay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from etfs.models import SecurityName


def record_names(names: Iterable[tuple[int, str]], day: dt.date) -> int:
    """Add ``(security id, name)`` where the name differs from the security's latest recorded
    one (or it has none yet), first seen on ``day``; return how many were added."""
    names = dict(names)
    latest: dict[int, str] = {}
    recorded = SecurityName.objects.filter(security_id__in=list(names)).order_by(
        "security_id", "first_seen", "id"
    )
    for security_id, name in recorded.values_list("security_id", "name"):
        latest[security_id] = name
    new = [
        SecurityName(security_id=security_id, name=name, first_seen=day)
        for security_id, name in names.items()
        if name and latest.get(security_id) != name
    ]
    # Two list runs of one day may both add a name: the unique key keeps one.
    SecurityName.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    return len(new)
