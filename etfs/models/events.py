"""Corporate actions, the adjustment factors computed from them, and suspensions."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from .securities import StockInfo


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
