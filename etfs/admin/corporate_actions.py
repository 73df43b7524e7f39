"""Corporate actions, the adjustment factors derived from them, and suspensions: read-only, a
sync owns them."""

from __future__ import annotations

from django.contrib import admin

from etfs.models import AdjustmentFactor, CorporateAction, Suspension

from .display import factor, number
from .read_only import SyncedDataAdmin


@admin.register(CorporateAction)
class CorporateActionAdmin(SyncedDataAdmin, admin.ModelAdmin):
    list_display = (
        "security",
        "ex_date",
        "kind",
        "cash_per_unit",
        "units_ratio",
        "rights_price_shown",
        "record_date",
        "pay_date",
    )
    list_filter = ("kind", ("ex_date", admin.DateFieldListFilter))
    list_select_related = ("security",)
    search_fields = ("security__code", "security__name")
    date_hierarchy = "ex_date"
    ordering = ("-ex_date",)

    @admin.display(description="cash per unit (yuan)", ordering="cash")
    def cash_per_unit(self, obj):
        return number(obj.cash) if obj.cash else "-"

    @admin.display(description="units after per unit before", ordering="ratio")
    def units_ratio(self, obj):
        return number(obj.ratio)

    @admin.display(description="rights price (yuan)", ordering="rights_price")
    def rights_price_shown(self, obj):
        return number(obj.rights_price) if obj.rights_price else "-"


@admin.register(Suspension)
class SuspensionAdmin(SyncedDataAdmin, admin.ModelAdmin):
    list_display = ("security", "start", "end_shown", "reason", "expected_resume", "provider")
    list_filter = (("start", admin.DateFieldListFilter), "security__is_etf")
    list_select_related = ("security",)
    search_fields = ("security__code", "security__name", "reason")
    date_hierarchy = "start"
    ordering = ("-start",)

    @admin.display(description="end", ordering="end")
    def end_shown(self, obj):
        return obj.end or "open"


@admin.register(AdjustmentFactor)
class AdjustmentFactorAdmin(SyncedDataAdmin, admin.ModelAdmin):
    list_display = (
        "security",
        "ex_date",
        "valid_until",
        "previous_close_shown",
        "step_shown",
        "hfq_factor_shown",
        "split_factor_shown",
    )
    list_select_related = ("security",)
    search_fields = ("security__code",)
    ordering = ("security", "-ex_date")

    @admin.display(description="previous close", ordering="previous_close")
    def previous_close_shown(self, obj):
        return number(obj.previous_close)

    @admin.display(description="step", ordering="step")
    def step_shown(self, obj):
        return factor(obj.step)

    @admin.display(description="backward factor", ordering="hfq_factor")
    def hfq_factor_shown(self, obj):
        return factor(obj.hfq_factor)

    @admin.display(description="split factor", ordering="split_factor")
    def split_factor_shown(self, obj):
        return factor(obj.split_factor)
