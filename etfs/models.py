"""Securities, their daily bars, the record of every sync run, and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from etfs.codes import CODE_LENGTH, CODE_PATTERN, CODE_RULE
from etfs.timeseries import DailyBarQuerySet


class Exchange(models.TextChoices):
    XSHG = "XSHG", "Shanghai (XSHG)"
    XSHE = "XSHE", "Shenzhen (XSHE)"


class ListingStatus(models.TextChoices):
    LISTED = "listed", "Listed"
    DELISTED = "delisted", "Delisted"


class Board(models.TextChoices):
    """A stock's board; funds have none (an empty ``board``)."""

    MAIN = "main", "Main board"
    STAR = "star", "STAR Market"
    CHINEXT = "chinext", "ChiNext"


six_digit_code = RegexValidator(CODE_PATTERN, f"A security code is {CODE_RULE}.")


class StockInfoQuerySet(models.QuerySet):
    def etfs(self, exchange: str | None = None, *, include_delisted: bool = False):
        """ETFs (listed ones unless asked otherwise), optionally of one exchange."""
        queryset = self.filter(is_etf=True)
        if not include_delisted:
            queryset = queryset.filter(status=ListingStatus.LISTED)
        if exchange:
            queryset = queryset.filter(exchange=exchange)
        return queryset

    def stocks(
        self, exchange: str | None = None, board: str | None = None, *, include_delisted=False
    ):
        """Stocks (listed ones unless asked otherwise), optionally of one exchange or board."""
        queryset = self.filter(is_etf=False)
        if not include_delisted:
            queryset = queryset.filter(status=ListingStatus.LISTED)
        if exchange:
            queryset = queryset.filter(exchange=exchange)
        if board:
            queryset = queryset.filter(board=board)
        return queryset

    def stock_count_by_exchange(self) -> dict[str, int]:
        counts = dict.fromkeys(Exchange.values, 0)
        rows = self.stocks().order_by().values_list("exchange").annotate(n=Count("id"))
        counts.update(dict(rows))
        return counts

    def stock_count_by_board(self) -> dict[str, int]:
        counts = dict.fromkeys(Board.values, 0)
        rows = self.stocks().order_by().values_list("board").annotate(n=Count("id"))
        counts.update(dict(rows))
        return counts

    def etf_codes_among(self, codes) -> set[str]:
        """Which of ``codes`` are ETFs we hold, delisted ones included (their history stays)."""
        etfs = self.etfs(include_delisted=True).filter(code__in=codes)
        return set(etfs.values_list("code", flat=True))

    def etf_count_by_exchange(self) -> dict[str, int]:
        counts = dict.fromkeys(Exchange.values, 0)
        rows = self.etfs().order_by().values_list("exchange").annotate(n=Count("id"))
        counts.update(dict(rows))
        return counts

    # Freshness reads: plain columns kept by the writes (see StockInfo).
    def up_to_date(self, final_day):
        return self.filter(last_bar_date__gte=final_day)

    def behind(self, final_day):
        """Without the last final day's bar: suspended, missing at the source, or not synced."""
        return self.filter(Q(last_bar_date__lt=final_day) | Q(last_bar_date__isnull=True))

    def with_gaps(self):
        return self.filter(missing_days__gt=0)

    def with_code_prefix(self, term: str):
        """Securities whose code is ``term`` or starts with it (1 to 6 ASCII digits); none for
        any other text, which no code holds."""
        if not (term.isascii() and term.isdigit() and len(term) <= CODE_LENGTH):
            return self.none()
        if len(term) == CODE_LENGTH:
            return self.filter(code=term)
        return self.filter(code__startswith=term)

    def freshness_by_exchange(self, final_day, *, is_etf: bool = True) -> dict[str, dict]:
        """Per exchange: listed ETFs (or stocks), how many hold ``final_day``, how many are
        behind it or have gaps, and the oldest last bar."""
        behind = Q(last_bar_date__lt=final_day) | Q(last_bar_date__isnull=True)
        rows = (
            (self.etfs() if is_etf else self.stocks())
            .order_by()
            .values("exchange")
            .annotate(
                listed=Count("id"),
                up_to_date=Count("id", filter=Q(last_bar_date__gte=final_day)),
                behind=Count("id", filter=behind),
                with_gaps=Count("id", filter=Q(missing_days__gt=0)),
                oldest_last_bar=Min("last_bar_date"),
            )
        )
        return {row.pop("exchange"): row for row in rows}


class StockInfo(models.Model):
    """One listed security, stock or fund, on the Shanghai or Shenzhen exchange."""

    code = models.CharField(max_length=6, validators=[six_digit_code])
    exchange = models.CharField(max_length=4, choices=Exchange.choices)
    name = models.CharField(max_length=100)
    is_etf = models.BooleanField(default=False, db_index=True, verbose_name="is ETF")
    category = models.CharField(
        max_length=50, blank=True, help_text="Fund category in words, from the exchange's list."
    )
    list_date = models.DateField(null=True, blank=True)
    board = models.CharField(
        max_length=10, choices=Board.choices, blank=True, help_text="Stocks only; empty for funds."
    )
    is_st = models.BooleanField(
        "ST", default=False, help_text="On the risk-warning (ST, *ST) board at the last list sync."
    )
    delist_date = models.DateField(
        null=True, blank=True, help_text="The exchange's delisting date, from its delisted list."
    )
    history_unavailable_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the source answered no k-lines at all for this delisted security: "
        "a fact about it (long-delisted stocks have none there), not asked again.",
    )
    # The profile the exchanges' own lists give (etfs/providers/exchanges.py).
    tracking_index_code = models.CharField(max_length=20, blank=True)
    tracking_index_name = models.CharField(max_length=100, blank=True)
    fund_manager = models.CharField(
        max_length=100, blank=True, help_text="The fund management company."
    )
    provider = models.CharField(
        max_length=30, blank=True, help_text="The source whose list first named this security."
    )
    on_exchange_list = models.BooleanField(
        null=True,
        blank=True,
        help_text="On its exchange's own list at the last list sync (empty: not checked).",
    )
    status = models.CharField(
        max_length=10, choices=ListingStatus.choices, default=ListingStatus.LISTED
    )
    first_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When a list sync first saw this security."
    )
    last_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When a list sync last saw this security."
    )
    delisted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Freshness and gaps, kept by every committed batch of bars (etfs/sync/freshness.py), so
    # that lists sort and filter on plain columns instead of aggregating bars. Not indexed: a
    # market's few thousand rows sort in memory in a few milliseconds, while a day's write
    # rewrites every row's summary, and without an index on them (and with free room in each
    # page, the table's fillfactor) that rewrite is a HOT update touching no index at all:
    # 6,800 summaries in about 105 ms instead of 260 ms (bench/market.py).
    bar_count = models.PositiveIntegerField(default=0)
    first_bar_date = models.DateField(null=True, blank=True)
    last_bar_date = models.DateField(null=True, blank=True)
    missing_days = models.PositiveIntegerField(
        "gaps",
        default=0,
        help_text="Trading days between the first and the last bar without a bar that no "
        "suspension explains.",
    )
    suspended_days = models.PositiveIntegerField(
        "suspended",
        default=0,
        help_text="Trading days between the first and the last bar without a bar that a "
        "suspension explains.",
    )
    bars_off_calendar = models.PositiveIntegerField(
        "bars on closed days",
        default=0,
        help_text="Bars on days the calendar does not hold open (closed, or not known yet): "
        "flagged on their own, never netted against a gap.",
    )
    days_behind = models.PositiveIntegerField(
        "behind",
        null=True,
        blank=True,
        help_text="Trading days after the last bar up to the last final day, as of the last "
        "price run.",
    )

    objects = StockInfoQuerySet.as_manager()

    class Meta:
        verbose_name = "security"
        verbose_name_plural = "securities"
        ordering = ["code", "exchange"]
        constraints = [
            models.UniqueConstraint(fields=["code", "exchange"], name="stockinfo_code_exchange"),
            models.CheckConstraint(
                condition=Q(exchange__in=Exchange.values), name="stockinfo_exchange_known"
            ),
            models.CheckConstraint(
                condition=Q(code__regex=CODE_PATTERN), name="stockinfo_code_six_digits"
            ),
            models.CheckConstraint(
                condition=Q(board__in=["", *Board.values]), name="stockinfo_board_known"
            ),
            models.CheckConstraint(
                condition=Q(is_etf=False) | Q(board=""), name="stockinfo_fund_without_board"
            ),
        ]
        indexes = [models.Index(fields=["exchange", "is_etf"], name="stockinfo_exchange_etf")]

    def __str__(self) -> str:
        return f"{self.code}.{self.exchange} {self.name}"


class SecurityName(models.Model):
    """A name a security carried, from the day a list sync first saw it: names are history
    (ST on and off, renames, the N/C marks of new listings), never a key."""

    security = models.ForeignKey(StockInfo, on_delete=models.CASCADE, related_name="names")
    name = models.CharField(max_length=100)
    first_seen = models.DateField()

    class Meta:
        ordering = ["security", "first_seen", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["security", "first_seen", "name"], name="securityname_security_day_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (from {self.first_seen})"


class DailyBar(models.Model):
    """One unadjusted daily bar of one security. Unique per (security, trade_date).

    The primary key is a surrogate id because the Django 5.2 admin cannot register a model
    with a composite key; on TimescaleDB the key becomes (id, trade_date) (see migrations).
    """

    # No index of its own: the unique (security, trade_date) index starts with it and serves
    # every lookup by security; a second index only made each bar's insert dearer.
    security = models.ForeignKey(
        StockInfo, on_delete=models.PROTECT, related_name="bars", db_index=False
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


class SyncKind(models.TextChoices):
    ETF_LISTS = "etf_lists", "ETF lists"
    ETF_PRICES = "etf_prices", "ETF prices"
    STOCK_LISTS = "stock_lists", "Stock lists"
    STOCK_PRICES = "stock_prices", "Stock prices"
    FULL_SYNC = "full_sync", "Full sync"
    CORPORATE_ACTIONS = "corporate_actions", "Corporate actions"
    CALENDAR = "calendar", "Trading calendar"
    SUSPENSIONS = "suspensions", "Suspensions"


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (SyncStatus.QUEUED, SyncStatus.RUNNING)
FINAL_STATUSES = (
    SyncStatus.SUCCEEDED,
    SyncStatus.PARTIAL,
    SyncStatus.FAILED,
    SyncStatus.CANCELLED,
)


# What a run counts, as it reports (RunRecorder.add) and as the admin, API and OpenAPI show it.
COUNTERS = (
    "items_done",
    "items_failed",
    "rows_fetched",
    "rows_created",
    "rows_updated",
    "rows_unchanged",
    "rows_delisted",
    "rows_rejected",
    "warnings",
)


class SyncTrigger(models.TextChoices):
    COMMAND = "command", "Command"
    ADMIN = "admin", "Admin"
    SCHEDULE = "schedule", "Schedule"
    API = "api", "API"


class SyncRunQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)


class SyncRun(models.Model):
    """One execution of a sync job, whoever started it; what it did and what went wrong."""

    kind = models.CharField(max_length=20, choices=SyncKind.choices)
    status = models.CharField(
        max_length=10, choices=SyncStatus.choices, default=SyncStatus.QUEUED, db_index=True
    )
    trigger = models.CharField(max_length=10, choices=SyncTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    parameters = models.JSONField(default=dict, blank=True)
    scope = models.CharField(
        max_length=200,
        blank=True,
        help_text="What the run covers; two active top-level runs never share a scope.",
    )
    provider = models.CharField(
        max_length=30, blank=True, help_text="The source (or sources) that served the run."
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="chunks"
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    task_id = models.CharField(max_length=64, blank=True, help_text="django-q task id.")
    schedule = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="The schedule that started it."
    )
    stale_source_day = models.DateField(
        null=True,
        blank=True,
        help_text="The source's newest bar when, after this price run, every security was "
        "still behind the last final day by more than ETFSYNC_STALE_SOURCE_TRADING_DAYS.",
    )
    cancel_requested = models.BooleanField(default=False)

    queued_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    items_total = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    items_failed = models.PositiveIntegerField(default=0)
    rows_fetched = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_delisted = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    error_summary = models.TextField(blank=True)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            # The database, not a flag in memory, keeps two runs of one scope from overlapping.
            models.UniqueConstraint(
                fields=["scope"],
                condition=Q(status__in=list(ACTIVE_STATUSES), parent__isnull=True),
                name="syncrun_one_active_per_scope",
            ),
        ]
        permissions = [("run_sync", "Can start sync runs")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} ({self.status})"

    @property
    def duration(self):
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class SyncRunError(models.Model):
    """A per-item problem of a run: a fund that failed, a bar rejected, a unit warning."""

    class Severity(models.TextChoices):
        ERROR = "error", "Error"
        REJECTED = "rejected", "Rejected row"
        WARNING = "warning", "Warning"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="errors")
    security = models.ForeignKey(StockInfo, null=True, blank=True, on_delete=models.SET_NULL)
    code = models.CharField(max_length=20, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.ERROR)
    message = models.TextField()
    detail = models.TextField(blank=True, help_text="The offending answer or row (truncated).")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = "sync run error"

    def __str__(self) -> str:
        return f"{self.code}: {self.message[:80]}"


class CorporateActionKind(models.TextChoices):
    CASH = "cash", "Cash dividend"
    SPLIT = "split", "Split"
    CONVERSION = "conversion", "Conversion or merge"
    BONUS = "bonus", "Bonus shares"
    CAPITALISATION = "capitalisation", "Capitalisation shares"
    RIGHTS = "rights", "Rights issue"


# Kinds whose ratio is 1 + new shares per share held (a stock's 送, 转 and 配).
SHARE_KINDS = ("bonus", "capitalisation", "rights")


class CorporateAction(models.Model):
    """A fund or stock event as the source lists it: a fact, stored once and never deleted by
    a sync. Plans without an ex-date are not stored.

    Adjustment factors (``AdjustmentFactor``) are derived from these and the stored closes;
    the bars themselves are never rewritten.
    """

    security = models.ForeignKey(
        StockInfo, on_delete=models.PROTECT, related_name="corporate_actions"
    )
    ex_date = models.DateField()
    kind = models.CharField(max_length=20, choices=CorporateActionKind.choices)
    cash = models.DecimalField(
        max_digits=18, decimal_places=8, default=0, help_text="Yuan per unit; 0 unless cash."
    )
    ratio = models.DecimalField(
        max_digits=24,
        decimal_places=10,
        default=1,
        help_text="Units after per unit before (2 for 1:2, 0.01 for 100-to-1, 1.3 for 3 "
        "bonus shares per 10).",
    )
    rights_price = models.DecimalField(
        max_digits=14, decimal_places=4, default=0, help_text="Yuan per rights share."
    )
    record_date = models.DateField(null=True, blank=True)
    pay_date = models.DateField(null=True, blank=True)
    provider = models.CharField(max_length=30, default="eastmoney")
    source_row = models.TextField(blank=True, help_text="The source's row, as it was sent.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["security", "ex_date", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["security", "ex_date", "kind"], name="corporateaction_security_day_kind"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=CorporateActionKind.values), name="corporateaction_kind_known"
            ),
            models.CheckConstraint(
                condition=(Q(kind="cash") & Q(cash__gt=0) & Q(ratio=1))
                | (Q(kind__in=["split", "conversion"]) & Q(cash=0) & Q(ratio__gt=0))
                | (Q(kind__in=["bonus", "capitalisation"]) & Q(cash=0) & Q(ratio__gt=1))
                | (Q(kind="rights") & Q(cash=0) & Q(ratio__gt=1) & Q(rights_price__gt=0)),
                name="corporateaction_cash_or_ratio",
            ),
            models.CheckConstraint(
                condition=Q(kind="rights") | Q(rights_price=0),
                name="corporateaction_rights_price_of_rights",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.security_id} {self.ex_date} {self.kind}"


class AdjustmentFactor(models.Model):
    """The backward (hfq) adjustment in force from one ex-date until the next: derived data.

    One row per security and ex-date; the cumulative factor of a day is the row with the
    latest ``ex_date`` on or before it (1 before the first). Recomputed from the events and
    the stored closes (etfs/sync/factors.py), so a new event costs a few rows here and no
    bar is touched.
    """

    security = models.ForeignKey(
        StockInfo, on_delete=models.CASCADE, related_name="adjustment_factors"
    )
    ex_date = models.DateField()
    valid_until = models.DateField(
        null=True, blank=True, help_text="The next ex-date (exclusive); empty for the latest."
    )
    previous_close = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, help_text="P: the close before."
    )
    cash = models.DecimalField(max_digits=18, decimal_places=8, default=0)
    ratio = models.DecimalField(max_digits=24, decimal_places=10, default=1)
    step = models.DecimalField(max_digits=40, decimal_places=20, help_text="P / ((P - c) / r)")
    hfq_factor = models.DecimalField(
        max_digits=40, decimal_places=20, help_text="Product of the steps up to this ex-date."
    )
    split_factor = models.DecimalField(
        max_digits=40, decimal_places=20, help_text="Product of the ratios (volume adjustment)."
    )

    class Meta:
        ordering = ["security", "ex_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["security", "ex_date"], name="adjustmentfactor_security_day"
            ),
            # The forward adjustment divides by the one factor still in force.
            models.UniqueConstraint(
                fields=["security"],
                condition=Q(valid_until__isnull=True),
                name="adjustmentfactor_one_latest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.security_id} from {self.ex_date}: x{self.hfq_factor}"


class Suspension(models.Model):
    """A period a security did not trade, as the source's suspension snapshot lists it.

    Its trading days explain a security's missing bars (``StockInfo.suspended_days`` instead
    of ``missing_days``). ``end`` is the last suspended day, empty while open-ended.
    """

    security = models.ForeignKey(StockInfo, on_delete=models.CASCADE, related_name="suspensions")
    start = models.DateField()
    end = models.DateField(null=True, blank=True, help_text="Empty while open-ended.")
    reason = models.CharField(max_length=200, blank=True)
    expected_resume = models.DateField(null=True, blank=True)
    provider = models.CharField(max_length=30, default="eastmoney")
    source_row = models.TextField(blank=True, help_text="The source's row, as it was sent.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["security", "start"]
        constraints = [
            models.UniqueConstraint(fields=["security", "start"], name="suspension_security_start"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=F("start")),
                name="suspension_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.security_id} suspended {self.start}..{self.end or ''}"


class SourceCooldown(models.Model):
    """A pause every worker respects after a source signalled a ban (see sync/cooldown.py)."""

    source = models.CharField(max_length=30, unique=True)
    until = models.DateTimeField()
    reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.source} until {self.until:%Y-%m-%d %H:%M}"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        """Tokens that authenticate: neither revoked nor past their expiry."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer token for the JSON API, acting with its owner's permissions.

    Only the SHA-256 of the secret is stored: the secret is shown once, when the token is
    created, and cannot be recovered. A leaked database therefore leaks no usable token. The
    prefix (the secret's first characters) tells tokens apart in lists without revealing them.
    """

    PREFIX_LENGTH = 8

    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'nightly cron'.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Leave empty for a token that does not expire."
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def set_new_secret(self) -> str:
        """Give the token a fresh random secret; return it (the only time it is known)."""
        secret = secrets.token_urlsafe(32)
        self.prefix = secret[: self.PREFIX_LENGTH]
        self.token_hash = self.hash_secret(secret)
        return secret

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"
