"""Daily bars, the trading calendar, and the record of bars the source revised."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from etfs.timeseries import DailyBarQuerySet

from .securities import StockInfo


class DailyBar(models.Model):
    """One unadjusted daily bar of one security. Unique per (security, trade_date).

    The primary key is a surrogate id because the Django 5.2 admin cannot register a model
    with a composite key; on TimescaleDB the key becomes (id, trade_date) (see migrations).
    """

    # No index of its own: the unique (security, trade_date) index starts with it and serves
    # every lookup by security; a second index only made each bar's insert dearer. On plain
    # PostgreSQL the database checks the security once per statement instead of once per bar
    # (triggers, migration 0022: the same rule, a tenth of the cost); SQLite and TimescaleDB
    # keep the foreign key constraint.
    security = models.ForeignKey(
        StockInfo,
        on_delete=models.PROTECT,
        related_name="bars",
        db_index=False,
        db_constraint=False,
    )
    trade_date = models.DateField()
    open = models.DecimalField(max_digits=14, decimal_places=4, help_text="Yuan, unadjusted.")
    high = models.DecimalField(max_digits=14, decimal_places=4, help_text="Yuan, unadjusted.")
    low = models.DecimalField(max_digits=14, decimal_places=4, help_text="Yuan, unadjusted.")
    close = models.DecimalField(max_digits=14, decimal_places=4, help_text="Yuan, unadjusted.")
    volume = models.BigIntegerField(help_text="Shares (not lots of 100).")
    amount = models.DecimalField(
        max_digits=22, decimal_places=3, help_text="Turnover in yuan (not thousands)."
    )

    objects = DailyBarQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["security", "trade_date"], name="dailybar_security_day"
            ),
        ]
        # The day first for lists across securities (newest first, a day's bars), the
        # security second so that "these securities, newest first" is tested inside the index
        # instead of on each bar's row (the admin's bar search, bench/market.py).
        indexes = [models.Index(fields=["trade_date", "security"], name="dailybar_day_security")]

    def __str__(self) -> str:
        return f"{self.security_id} {self.trade_date}"


class TradingDayQuerySet(models.QuerySet):
    def open(self):
        return self.filter(is_open=True)


class TradingDay(models.Model):
    """A day the SSE/SZSE calendar knows (the two exchanges share one calendar).

    Rows are the trading days (seeded from the shipped file, kept by the SSE Composite index's
    k-lines); a weekday between two trading days without a row was closed. Beyond the last
    trading day a row with ``is_open`` false records a day the source showed closed (a holiday
    the after-close run found through the list), so that nobody asks again. Days after the
    newest row are unknown: see etfs/sync/calendar.py.
    """

    date = models.DateField(unique=True)
    is_open = models.BooleanField(default=True, help_text="False: the market was closed.")
    source = models.CharField(
        max_length=30, default="shipped", help_text="shipped file, index k-lines or ETF list."
    )

    objects = TradingDayQuerySet.as_manager()

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'open' if self.is_open else 'closed'}"


class CalendarRevision(models.Model):
    """A day the calendar held one way and the index later showed the other, with the run that
    corrected it: an unexpected closure (as on 2020-01-31), or a day decided from the list that
    the index contradicts. Bars are never rewritten: the run's warning says how many stand on
    a day that turned out closed."""

    date = models.DateField()
    was_open = models.BooleanField()
    is_open = models.BooleanField()
    run = models.ForeignKey(
        "SyncRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calendar_revisions",
    )
    revised_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=30, default="index")

    class Meta:
        ordering = ["-revised_at", "-date"]

    def __str__(self) -> str:
        before, after = ("open" if value else "closed" for value in (self.was_open, self.is_open))
        return f"{self.date}: {before} → {after}"


class BarRevision(models.Model):
    """A stored bar the source changed: the values before and after, and the run that saw it.

    The source revises bars now and then (the Saturday re-read, a ``--start`` re-fetch); the
    stored bar takes the new values, and this row keeps the old ones.
    """

    security = models.ForeignKey(StockInfo, on_delete=models.CASCADE, related_name="revisions")
    trade_date = models.DateField()
    run = models.ForeignKey(
        "SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions"
    )
    revised_at = models.DateTimeField(default=timezone.now)
    old_open = models.DecimalField(max_digits=14, decimal_places=4)
    old_high = models.DecimalField(max_digits=14, decimal_places=4)
    old_low = models.DecimalField(max_digits=14, decimal_places=4)
    old_close = models.DecimalField(max_digits=14, decimal_places=4)
    old_volume = models.BigIntegerField()
    old_amount = models.DecimalField(max_digits=22, decimal_places=3)
    new_open = models.DecimalField(max_digits=14, decimal_places=4)
    new_high = models.DecimalField(max_digits=14, decimal_places=4)
    new_low = models.DecimalField(max_digits=14, decimal_places=4)
    new_close = models.DecimalField(max_digits=14, decimal_places=4)
    new_volume = models.BigIntegerField()
    new_amount = models.DecimalField(max_digits=22, decimal_places=3)

    class Meta:
        ordering = ["-revised_at", "-id"]
        indexes = [models.Index(fields=["security", "trade_date"], name="barrevision_security_day")]

    def __str__(self) -> str:
        return f"{self.security_id} {self.trade_date} revised"
