"""The record of every sync run, its problems, and the pauses after a source's ban."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .securities import StockInfo


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


# What a run counts (RunRecorder.count and .record), as the admin, API and OpenAPI show it.
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

    def last_finished(self, kind: str):
        """The newest finished top-level run of ``kind`` (as a one-row queryset)."""
        finished = self.filter(kind=kind, parent__isnull=True, status__in=FINAL_STATUSES)
        return finished.order_by("-finished_at", "-id")[:1]

    def failed_securities(self, kind: str) -> set[int]:
        """The securities with an error on the last finished run of ``kind`` (chunks' errors
        are kept on their top-level run)."""
        errors = SyncRunError.objects.filter(
            run__in=self.last_finished(kind).values("pk"),
            severity=SyncRunError.Severity.ERROR,
            security__isnull=False,
        )
        return set(errors.values_list("security_id", flat=True))


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
    first_item_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the run first did an item one by one: its rate is measured from here.",
    )
    items_before_first_item = models.PositiveIntegerField(
        default=0,
        help_text="Items done at once before first_item_at (up to date, or taken from one list "
        "pass): left out of the rate.",
    )

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

    @property
    def child_noun(self) -> str:
        """What its child runs are: a full sync's steps (each of another kind), or the chunks
        of a fan-out. Either way their counters and totals add up on this run."""
        return "step" if self.kind == SyncKind.FULL_SYNC else "chunk"


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


class SourceCooldown(models.Model):
    """A pause every worker respects after a source signalled a ban (see sync/cooldown.py)."""

    source = models.CharField(max_length=30, unique=True)
    until = models.DateTimeField()
    reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.source} until {self.until:%Y-%m-%d %H:%M}"
