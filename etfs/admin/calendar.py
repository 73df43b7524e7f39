"""The trading calendar and its corrections, read-only: kept by the calendar sync and the
after-close run."""

from django.contrib import admin

from etfs.models import CalendarRevision, TradingDay

from .read_only import SyncedDataAdmin


@admin.register(TradingDay)
class TradingDayAdmin(SyncedDataAdmin, admin.ModelAdmin):
    list_display = ("date", "is_open", "source")
    list_filter = ("is_open", "source")
    date_hierarchy = "date"
    ordering = ("-date",)
    show_full_result_count = False


@admin.register(CalendarRevision)
class CalendarRevisionAdmin(SyncedDataAdmin, admin.ModelAdmin):
    """Days the index contradicted after the calendar had decided them, with both values."""

    list_display = ("date", "was_open", "is_open", "source", "run", "revised_at")
    list_filter = ("is_open", "source")
    list_select_related = ("run",)
    date_hierarchy = "date"
