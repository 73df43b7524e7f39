"""The trading calendar, read-only: kept by the calendar sync and the after-close run."""

from django.contrib import admin

from etfs.models import TradingDay


@admin.register(TradingDay)
class TradingDayAdmin(admin.ModelAdmin):
    list_display = ("date", "is_open", "source")
    list_filter = ("is_open", "source")
    date_hierarchy = "date"
    ordering = ("-date",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
