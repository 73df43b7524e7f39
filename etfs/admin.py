"""Admin pages: securities, bars and sync runs, with buttons and actions that start syncs."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from .models import (
    FINAL_STATUSES,
    ApiToken,
    DailyBar,
    SourceCooldown,
    StockInfo,
    SyncKind,
    SyncRun,
    SyncRunError,
    SyncStatus,
    SyncTrigger,
)
from .sync.queue import enqueue_sync, retry_failed_items

RUN_SYNC_PERMISSION = "etfs.run_sync"


def can_run_sync(request) -> bool:
    return request.user.is_active and request.user.has_perm(RUN_SYNC_PERMISSION)


def start_sync(request, kind: str, parameters: dict | None = None) -> HttpResponseRedirect:
    """Queue a run for an admin button or action, tell the user, and link to the run."""
    if not can_run_sync(request):
        raise PermissionDenied("You may not start sync runs.")
    run, created = enqueue_sync(kind, SyncTrigger.ADMIN, parameters or {}, user=request.user)
    url = reverse("admin:etfs_syncrun_change", args=[run.pk])
    if created:
        text = format_html(
            'Queued <a href="{}">run #{}</a> ({}).', url, run.pk, run.get_kind_display()
        )
        messages.success(request, text)
    else:
        text = format_html(
            'A {} run is already {}: <a href="{}">run #{}</a>. Not starting another.',
            run.get_kind_display(),
            run.status,
            url,
            run.pk,
        )
        messages.warning(request, text)
    return HttpResponseRedirect(url)


class SyncButtonsMixin:
    """Adds POST-only URLs for the sync buttons shown on the change list."""

    change_list_template = "admin/etfs/change_list_with_sync.html"

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        urls = [
            path(
                "sync-lists/",
                self.admin_site.admin_view(require_POST(self.sync_lists_view)),
                name="{}_{}_sync_lists".format(*info),
            ),
            path(
                "sync-prices/",
                self.admin_site.admin_view(require_POST(self.sync_prices_view)),
                name="{}_{}_sync_prices".format(*info),
            ),
        ]
        return urls + super().get_urls()

    def sync_lists_view(self, request):
        return start_sync(request, SyncKind.ETF_LISTS)

    def sync_prices_view(self, request):
        return start_sync(request, SyncKind.ETF_PRICES)

    def changelist_view(self, request, extra_context=None):
        info = self.model._meta.app_label, self.model._meta.model_name
        extra_context = {
            **(extra_context or {}),
            "can_run_sync": can_run_sync(request),
            "sync_lists_url": reverse("admin:{}_{}_sync_lists".format(*info)),
            "sync_prices_url": reverse("admin:{}_{}_sync_prices".format(*info)),
        }
        return super().changelist_view(request, extra_context)


@admin.register(StockInfo)
class StockInfoAdmin(SyncButtonsMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "exchange",
        "name",
        "is_etf",
        "status",
        "bar_count",
        "first_bar_date",
        "last_bar_date",
        "last_seen_at",
    )
    list_filter = ("exchange", "is_etf", "status")
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
    )
    actions = ["sync_prices_of_selected"]
    list_per_page = 100

    change_form_template = "admin/etfs/stockinfo/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).with_bar_summary()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        period = request.GET.get("period", "day")
        if period not in BAR_PERIODS:
            period = "day"
        extra_context = {
            **(extra_context or {}),
            "bar_period": period,
            "bar_periods": BAR_PERIODS,
            "recent_bars": recent_bars(object_id, period),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="bars", ordering="bar_count")
    def bar_count(self, obj):
        return obj.bar_count or 0

    @admin.display(description="first bar", ordering="first_bar_date")
    def first_bar_date(self, obj):
        return obj.first_bar_date

    @admin.display(description="last bar", ordering="last_bar_date")
    def last_bar_date(self, obj):
        return obj.last_bar_date

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


BAR_PERIODS = {"day": "Daily", "week": "Weekly", "month": "Monthly"}
RECENT_BARS = 60


def recent_bars(security_id, period: str) -> list[dict]:
    """The last bars of one security, daily or resampled (time_bucket on TimescaleDB)."""
    bars = DailyBar.objects.filter(security_id=security_id)
    if period == "day":
        rows = bars.order_by("-trade_date").values("trade_date", *BAR_VALUES)[:RECENT_BARS]
        return [{"period_start": row.pop("trade_date"), **row} for row in rows]
    last = bars.order_by("-trade_date").values_list("trade_date", flat=True).first()
    if last is None:
        return []
    days = 7 if period == "week" else 31
    since = last - dt.timedelta(days=days * RECENT_BARS)
    return list(reversed(bars.filter(trade_date__gt=since).resampled(period)))[:RECENT_BARS]


BAR_VALUES = ("open", "high", "low", "close", "volume", "amount")


class EstimatedCountPaginator(Paginator):
    """Avoids COUNT(*) over millions of bars: PostgreSQL's planner estimate when unfiltered."""

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [DailyBar._meta.db_table],
                )
                estimate = cursor.fetchone()[0]
            if estimate and estimate > 10_000:
                return estimate
        return super().count


@admin.register(DailyBar)
class DailyBarAdmin(admin.ModelAdmin):
    list_display = ("security", "trade_date", "open", "high", "low", "close", "volume", "amount")
    list_select_related = ("security",)
    list_filter = (("trade_date", admin.DateFieldListFilter),)
    raw_id_fields = ("security",)
    search_fields = ("security__code",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ("-trade_date",)
    list_per_page = 100


class SyncRunErrorInline(admin.TabularInline):
    model = SyncRunError
    fields = ("severity", "code", "message", "detail_excerpt", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "problems (the first 200; all under Sync run errors)"

    @admin.display(description="offending answer")
    def detail_excerpt(self, obj):
        return obj.detail[:300]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # Inline formsets need a filterable queryset; keep only the first 200 problems' ids.
        first_ids = list(queryset.order_by("id").values_list("id", flat=True)[:200])
        return queryset.filter(id__in=first_ids)


@admin.register(SyncRun)
class SyncRunAdmin(SyncButtonsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "status_badge",
        "trigger",
        "requested_by",
        "queued_at",
        "duration_display",
        "progress",
        "rows_fetched",
        "rows_created",
        "rows_updated",
        "rows_unchanged",
        "rows_delisted",
        "items_failed",
    )
    list_filter = ("kind", "status", "trigger")
    date_hierarchy = "queued_at"
    inlines = [SyncRunErrorInline]
    actions = ["request_cancel", "retry_failed"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "kind",
                    "status_badge",
                    "trigger",
                    "requested_by",
                    "parameters",
                    "provider",
                    "parent",
                    "retry_of",
                    "task_link",
                )
            },
        ),
        (
            "Times",
            {
                "fields": (
                    "queued_at",
                    "started_at",
                    "heartbeat_at",
                    "finished_at",
                    "duration_display",
                )
            },
        ),
        (
            "Counters",
            {
                "fields": (
                    "items_total",
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
            },
        ),
        ("Errors", {"fields": ("error_summary", "problem_counts")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by")

    def get_readonly_fields(self, request, obj=None):
        names = [field.name for field in SyncRun._meta.fields]
        return names + ["status_badge", "duration_display", "task_link", "problem_counts"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_run_sync_permission(self, request):
        return can_run_sync(request)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colours = {
            SyncStatus.SUCCEEDED: "#2e7d32",
            SyncStatus.PARTIAL: "#ef6c00",
            SyncStatus.FAILED: "#c62828",
            SyncStatus.CANCELLED: "#616161",
        }
        return format_html(
            '<strong style="color:{}">{}</strong>',
            colours.get(obj.status, "#1565c0"),
            obj.get_status_display(),
        )

    @admin.display(description="duration")
    def duration_display(self, obj):
        return str(obj.duration).split(".")[0] if obj.duration else "-"

    @admin.display(description="items")
    def progress(self, obj):
        return f"{obj.items_done}/{obj.items_total}"

    @admin.display(description="task")
    def task_link(self, obj):
        if not obj.task_id:
            return "- (ran in-process)" if obj.trigger in ("command", "schedule") else "-"
        from django_q.models import Task

        task = Task.objects.filter(id=obj.task_id).first()
        if task is None:
            return format_html("{} (waiting in the queue)", obj.task_id)
        model = "success" if task.success else "failure"
        url = reverse(f"admin:django_q_{model}_change", args=[task.pk])
        return format_html('<a href="{}">{}</a> ({})', url, obj.task_id, model)

    @admin.display(description="problems")
    def problem_counts(self, obj):
        from django.db.models import Count

        counts = obj.errors.values_list("severity").annotate(n=Count("id")).order_by("severity")
        if not counts:
            return "none"
        url = reverse("admin:etfs_syncrunerror_changelist") + f"?run__id__exact={obj.pk}"
        items = format_html_join(", ", "{} {}", ((n, severity) for severity, n in counts))
        return format_html('{} — <a href="{}">see all</a>', items, url)

    @admin.action(description="Cancel the selected runs", permissions=["run_sync"])
    def request_cancel(self, request, queryset):
        count = queryset.filter(status__in=("queued", "running")).update(cancel_requested=True)
        queued = queryset.filter(status="queued")
        from .sync.runs import cancel_queued

        cancelled = cancel_queued(queued)
        self.message_user(
            request, f"Asked {count} run(s) to stop; {cancelled} queued run(s) cancelled at once."
        )

    @admin.action(
        description="Retry failed items (a new run for the ETFs that failed)",
        permissions=["run_sync"],
    )
    def retry_failed(self, request, queryset):
        started = []
        for run in queryset.filter(status__in=FINAL_STATUSES, parent=None):
            outcome = retry_failed_items(run, trigger=SyncTrigger.ADMIN, user=request.user)
            if outcome is not None:
                started.append(f"#{outcome[0].pk} (for #{run.pk})")
        if started:
            self.message_user(request, "Started retry run(s): " + ", ".join(started))
        else:
            self.message_user(
                request, "No failed ETFs to retry in the selection.", messages.WARNING
            )


@admin.register(SourceCooldown)
class SourceCooldownAdmin(admin.ModelAdmin):
    """Shows why workers pause; deleting a row lifts the pause early."""

    list_display = ("source", "until", "reason", "updated_at")
    readonly_fields = ("source", "until", "reason", "updated_at")

    def has_add_permission(self, request):
        return False


@admin.register(SyncRunError)
class SyncRunErrorAdmin(admin.ModelAdmin):
    list_display = ("run", "severity", "code", "message", "created_at")
    list_filter = ("severity", "run__kind")
    search_fields = ("code", "message")
    raw_id_fields = ("run", "security")
    list_select_related = ("run",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in SyncRunError._meta.fields]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens: the secret is made on save and shown once, in a message; revoke by action.

    A token acts with its owner's permissions, so anyone but a superuser sees and makes only
    tokens of their own: choosing another owner would lend oneself that owner's permissions.
    """

    list_display = (
        "name",
        "prefix_display",
        "owner",
        "state",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_select_related = ("owner",)
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "expires_at")
    search_fields = ("name", "prefix", "owner__username")
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "owner", "expires_at")
        return ("name", "owner", "prefix", "expires_at", "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("owner", "prefix", "created_at", "last_used_at", "revoked_at")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(owner=request.user)

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner" and not request.user.is_superuser:
            kwargs["queryset"] = get_user_model()._default_manager.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        secret = None if change else obj.set_new_secret()
        super().save_model(request, obj, form, change)
        if secret is not None:
            self.message_user(
                request,
                format_html(
                    "The token for “{}” is <code>{}</code>. Copy it now: it is stored only as a "
                    "hash and will not be shown again.",
                    obj.name,
                    secret,
                ),
                messages.SUCCESS,
            )

    @admin.display(description="token")
    def prefix_display(self, obj):
        return f"{obj.prefix}…"

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s); they no longer authenticate.")
