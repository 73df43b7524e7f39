"""Small builders for model rows: the fields a test cares about, defaults for the rest."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.contrib.auth.models import Permission, User
from django.utils import timezone

from etfs.models import (
    DailyBar,
    Exchange,
    ListingStatus,
    StockInfo,
    SyncKind,
    SyncRun,
    SyncRunError,
)
from etfs.sync.freshness import refresh_bar_summary

_sequence = itertools.count(1)


def make_security(
    code: str | None = None,
    exchange: str = Exchange.XSHG,
    *,
    name: str | None = None,
    is_etf: bool = True,
    status: str = ListingStatus.LISTED,
    **fields,
) -> StockInfo:
    number = next(_sequence)
    return StockInfo.objects.create(
        code=code or f"{510000 + number:06d}",
        exchange=exchange,
        name=name or f"ETF {number}",
        is_etf=is_etf,
        status=status,
        **fields,
    )


def make_bars(security: StockInfo, days: int, start: dt.date = dt.date(2024, 1, 2)) -> None:
    DailyBar.objects.bulk_create(
        DailyBar(
            security=security,
            trade_date=start + dt.timedelta(days=offset),
            open=Decimal("1.000"),
            high=Decimal("1.100"),
            low=Decimal("0.900"),
            close=Decimal("1.050"),
            volume=100_000,
            amount=Decimal("100000.000"),
        )
        for offset in range(days)
    )
    # Bars written around the upsert: keep the stored summary as the upsert would.
    refresh_bar_summary([security.pk])


def make_run(
    kind: str = SyncKind.ETF_LISTS, status: str = "succeeded", trigger: str = "command", **fields
) -> SyncRun:
    """A finished run by default (finished runs do not collide on the one-active-run rule)."""
    now = timezone.now()
    defaults = {"started_at": now - dt.timedelta(seconds=3), "finished_at": now}
    if status in ("queued", "running"):
        defaults = {"started_at": now if status == "running" else None, "heartbeat_at": now}
    return SyncRun.objects.create(
        kind=kind,
        status=status,
        trigger=trigger,
        scope=fields.pop("scope", kind),
        **{**defaults, **fields},
    )


def make_run_error(run: SyncRun, message: str, **fields) -> SyncRunError:
    return SyncRunError.objects.create(run=run, message=message, **fields)


def make_staff_user(username: str = "staff", *permissions: str, password: str = "unused") -> User:
    """A staff user holding ``permissions`` given as "app_label.codename"."""
    user = User.objects.create_user(username, password=password, is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)  # a fresh instance: no stale permission cache
