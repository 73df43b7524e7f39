"""Securities and their daily bars."""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from etfs.models import SecurityName, StockInfo, SyncKind, SyncTrigger
from etfs.sync.calendar import newest_known_final_day
from etfs.sync.freshness import missing_trading_days
from etfs.tasks import enqueue_sync

from .display import grouped
from .etf_page import chart_data, etf_page_context
from .exports import security_export_view
from .read_only import SyncedDataAdmin
from .sync_buttons import SyncButtonsMixin, can_run_sync, start_sync

MISSING_DAYS_SHOWN = 200


class FreshnessFilter(admin.SimpleListFilter):
    """Up to date / behind the last final day / with gaps, from the stored columns."""

    title = "freshness"
    parameter_name = "freshness"

    def lookups(self, request, model_admin):
        return (
            ("up_to_date", "Up to date"),
            ("behind", "Behind"),
            ("gaps", "Has gaps"),
            ("suspended", "Suspended days"),
            ("closed_day_bars", "Bars on closed days"),
        )

    def queryset(self, request, queryset):
        if self.value() == "gaps":
            return queryset.with_gaps()
        if self.value() == "suspended":
            return queryset.filter(suspended_days__gt=0)
        if self.value() == "closed_day_bars":
            return queryset.filter(bars_off_calendar__gt=0)
        if self.value() not in ("up_to_date", "behind"):
            return queryset
        final_day = newest_known_final_day()
        if final_day is None:
            return queryset
        if self.value() == "up_to_date":
            return queryset.up_to_date(final_day)
        return queryset.behind(final_day)


class CategoryFilter(admin.SimpleListFilter):
    """The categories the exchanges' lists gave, and the funds without one."""

    title = "category"
    parameter_name = "category"
    NONE = "-"

    def lookups(self, request, model_admin):
        given = StockInfo.objects.exclude(category="").order_by("category")
        categories = given.values_list("category", flat=True).distinct()
        return [(category, category) for category in categories] + [(self.NONE, "None given")]

    def queryset(self, request, queryset):
        if self.value() == self.NONE:
            return queryset.filter(category="")
        if self.value():
            return queryset.filter(category=self.value())
        return queryset


class KindFilter(admin.SimpleListFilter):
    """ETFs or stocks: the two universes the one securities table holds."""

    title = "kind"
    # The address the field filter on is_etf had: links and bookmarks keep working.
    parameter_name = "is_etf__exact"

    def lookups(self, request, model_admin):
        return (("1", "ETFs"), ("0", "Stocks"))

    def queryset(self, request, queryset):
        if self.value() in ("1", "0"):
            return queryset.filter(is_etf=self.value() == "1")
        return queryset


class SecurityNameInline(SyncedDataAdmin, admin.TabularInline):
    """The names a security carried, oldest first: names are history, never a key."""

    model = SecurityName
    fields = ("name", "first_seen")
    readonly_fields = fields
    extra = 0
    verbose_name = "name"
    verbose_name_plural = "names over time"


@admin.register(StockInfo)
class StockInfoAdmin(SyncedDataAdmin, SyncButtonsMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "exchange",
        "name",
        "kind",
        "status",
        "bar_count",
        "last_bar_date",
        "missing_days",
        "suspended_days",
        "days_behind",
    )
    list_filter = (
        FreshnessFilter,
        KindFilter,
        "exchange",
        "board",
        "is_st",
        "status",
        CategoryFilter,
        "on_exchange_list",
    )
    search_fields = ("code", "name")
    readonly_fields = (
        "first_seen_at",
        "last_seen_at",
        "delisted_at",
        "created_at",
        "updated_at",
        "bar_count",
        "first_bar_date",
        "last_bar_date",
        "missing_days",
        "days_behind",
        "missing_trading_days",
        "source_history",
        "suspended_trading_days",
        "bars_on_closed_days",
    )
    inlines = (SecurityNameInline,)
    actions = ["sync_prices_of_selected", "export_bars_of_selected"]
    list_per_page = 100

    change_form_template = "admin/etfs/stockinfo/change_form.html"

    # A security's page: who it is and how fresh its bars are on top, the profile folded.
    IDENTITY = ("code", "exchange", "name", "is_etf", "status")
    FRESHNESS = (
        "bar_count",
        "first_bar_date",
        "last_bar_date",
        "days_behind",
        "missing_days",
        "missing_trading_days",
        "suspended_trading_days",
        "bars_on_closed_days",
        "source_history",
    )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        fields = [*self.get_fields(request, obj)]
        top = [name for name in (*self.IDENTITY, *self.FRESHNESS) if name in fields]
        profile = [name for name in fields if name not in top]
        return [
            (None, {"fields": top}),
            ("Profile", {"fields": profile, "classes": ["collapse"]}),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not (object_id.isascii() and object_id.isdigit()):
            # Not an id at all (/stockinfo/abc/change/): there is nothing to show.
            raise Http404(f"there is no security {object_id[:40]!r}")
        security = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            **(etf_page_context(request, security) if security else {}),
            "has_run_sync_permission": can_run_sync(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "export_list_url": reverse("admin:etfs_stockinfo_export"),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        export = path(
            "export/",
            self.admin_site.admin_view(partial(security_export_view, self)),
            name="etfs_stockinfo_export",
        )
        chart = path(
            "<path:object_id>/chart/",
            self.admin_site.admin_view(self.chart_view),
            name="etfs_stockinfo_chart",
        )
        sync_now = path(
            "<int:object_id>/sync/",
            self.admin_site.admin_view(require_POST(self.sync_now_view)),
            name="etfs_stockinfo_sync_now",
        )
        return [export, chart, sync_now, *super().get_urls()]

    def sync_now_view(self, request, object_id: int):
        """ "Sync now" on an ETF's page: its prices and its corporate actions, two queued runs
        (each joins a run of the same scope already queued or running)."""
        if not can_run_sync(request):
            raise PermissionDenied("You may not start sync runs.")
        security = StockInfo.objects.filter(pk=object_id, is_etf=True).first()
        if security is None:
            raise Http404(f"there is no ETF #{object_id}")
        started = []
        for kind in (SyncKind.ETF_PRICES, SyncKind.CORPORATE_ACTIONS):
            run, created = enqueue_sync(
                kind, SyncTrigger.ADMIN, {"codes": [security.code]}, user=request.user
            )
            url = reverse("admin:etfs_syncrun_change", args=[run.pk])
            verb = "queued" if created else f"joined ({run.status})"
            started.append(format_html('<a href="{}">run #{}</a> {}', url, run.pk, verb))
        text = format_html(
            "{}: prices {}, corporate actions {}.", security.code, started[0], started[1]
        )
        messages.success(request, text)
        return HttpResponseRedirect(reverse("admin:etfs_stockinfo_change", args=[security.pk]))

    def chart_view(self, request, object_id):
        """The price chart's data as JSON, for the security page's script."""
        security = self.get_object(request, object_id) if object_id.isdigit() else None
        if security is None or not self.has_view_permission(request, security):
            raise Http404(f"there is no security {object_id[:40]!r}")
        return JsonResponse(chart_data(request, security))

    @admin.display(description="bars", ordering="bar_count")
    def bar_count(self, obj):
        return grouped(obj.bar_count or 0)

    @admin.display(description="first bar", ordering="first_bar_date")
    def first_bar_date(self, obj):
        return obj.first_bar_date

    @admin.display(description="last bar", ordering="last_bar_date")
    def last_bar_date(self, obj):
        return obj.last_bar_date

    @admin.display(description="missing trading days")
    def missing_trading_days(self, obj):
        days = missing_trading_days(obj, limit=MISSING_DAYS_SHOWN)
        return _listed(days, obj.missing_days, "none")

    @admin.display(description="suspended trading days")
    def suspended_trading_days(self, obj):
        days = missing_trading_days(obj, limit=MISSING_DAYS_SHOWN, suspended=True)
        return _listed(days, obj.suspended_days, "none (no suspension known in its span)")

    @admin.display(description="bars on closed days")
    def bars_on_closed_days(self, obj):
        if not obj.bars_off_calendar:
            return "none"
        return f"{obj.bars_off_calendar} bar(s) on days the calendar holds closed"

    @admin.display(description="kind", ordering="is_etf")
    def kind(self, obj):
        """ETF, or a stock's board with its risk warning: one column where is_etf was."""
        if obj.is_etf:
            return "ETF"
        return obj.get_board_display() + (", ST" if obj.is_st else "") if obj.board else "stock"

    @admin.display(description="history at the source")
    def source_history(self, obj):
        if obj.history_unavailable_at is None:
            return "-"
        return (
            f"the source has no k-lines for this delisted security (answered empty on "
            f"{obj.history_unavailable_at:%Y-%m-%d}); not asked again"
        )

    @admin.action(description="Export bars of the selected securities (CSV)")
    def export_bars_of_selected(self, request, queryset):
        codes = " ".join(sorted(queryset.values_list("code", flat=True).distinct()))
        url = reverse("admin:etfs_dailybar_export") + "?" + urlencode({"codes": codes})
        return HttpResponseRedirect(url)

    @admin.action(description="Sync prices of the selected ETFs", permissions=["run_sync"])
    def sync_prices_of_selected(self, request, queryset):
        codes = sorted(queryset.filter(is_etf=True).values_list("code", flat=True))
        if not codes:
            self.message_user(
                request, "None of the selected securities is an ETF.", messages.WARNING
            )
            return None
        return start_sync(request, SyncKind.ETF_PRICES, {"codes": codes})

    def has_run_sync_permission(self, request):
        return can_run_sync(request)


def _listed(days, total: int, empty: str) -> str:
    """Days as a list, with how many more there are (never fewer than none)."""
    if not days:
        return empty
    more = max(total - len(days), 0)
    return ", ".join(day.isoformat() for day in days) + (f" and {more} more" if more else "")
