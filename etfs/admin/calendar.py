"""The trading calendar, read-only: kept by the calendar sync and the after-close run."""

from django.contrib import admin

from etfs.models import TradingDay

from .read_only import SyncedDataAdmin


@admin.register(TradingDay)
class TradingDayAdmin(SyncedDataAdmin, admin.ModelAdmin):
    list_display = ("date", "is_open", "source")
    list_filter = ("is_open", "source")
    date_hierarchy = "date"
    ordering = ("-date",)
    show_full_result_count = False
