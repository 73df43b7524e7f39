"""Corporate actions and the adjustment factors derived from them: read-only, a sync owns both."""

from __future__ import annotations

from django.contrib import admin

from etfs.models import AdjustmentFactor, CorporateAction

from .read_only import SyncedDataAdmin


@admin.register(CorporateAction)
class CorporateActionAdmin(SyncedDataAdmin, admin.ModelAdmin):
    list_display = ("security", "ex_date", "kind", "cash", "ratio", "record_date", "pay_date")
    list_filter = ("kind", ("ex_date", admin.DateFieldListFilter))
    list_select_related = ("security",)
    search_fields = ("security__code", "security__name")
    date_hierarchy = "ex_date"
    ordering = ("-ex_date",)


@admin.register(AdjustmentFactor)
class AdjustmentFactorAdmin(SyncedDataAdmin, admin.ModelAdmin):
    list_display = ("security", "ex_date", "valid_until", "step", "hfq_factor", "split_factor")
    list_select_related = ("security",)
    search_fields = ("security__code",)
    ordering = ("security", "-ex_date")
