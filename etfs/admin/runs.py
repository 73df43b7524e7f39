"""Sync runs, their problems, and the source cooldowns that pause them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from etfs.models import (
    FINAL_STATUSES,
    SourceCooldown,
    SyncRun,
    SyncRunError,
    SyncStatus,
    SyncTrigger,
)
from etfs.sync.queue import retry_failed_items
from etfs.sync.runs import COUNTERS, cancel_runs

from .sync_buttons import SyncButtonsMixin, can_run_sync


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
        ("Counters", {"fields": ("items_total", *COUNTERS)}),
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
        counts = obj.errors.values_list("severity").annotate(n=Count("id")).order_by("severity")
        if not counts:
            return "none"
        url = reverse("admin:etfs_syncrunerror_changelist") + f"?run__id__exact={obj.pk}"
        items = format_html_join(", ", "{} {}", ((n, severity) for severity, n in counts))
        return format_html('{} — <a href="{}">see all</a>', items, url)

    @admin.action(description="Cancel the selected runs", permissions=["run_sync"])
    def request_cancel(self, request, queryset):
        asked, cancelled = cancel_runs(queryset)
        self.message_user(
            request, f"Asked {asked} run(s) to stop; {cancelled} queued run(s) cancelled at once."
        )

    def get_urls(self):
        cancel = path(
            "<int:run_id>/cancel/",
            self.admin_site.admin_view(require_POST(self.cancel_view)),
            name="etfs_syncrun_cancel",
        )
        return [cancel, *super().get_urls()]

    def cancel_view(self, request, run_id: int):
        """The Cancel button of an active run's page."""
        if not can_run_sync(request):
            raise PermissionDenied("You may not cancel sync runs.")
        asked, cancelled = cancel_runs(SyncRun.objects.filter(pk=run_id))
        if cancelled:
            self.message_user(request, f"Run #{run_id} was queued; it is cancelled.")
        elif asked:
            self.message_user(request, f"Run #{run_id} will stop at the next ETF.")
        else:
            self.message_user(request, f"Run #{run_id} had finished already.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:etfs_syncrun_change", args=[run_id]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_run_sync": can_run_sync(request)}
        return super().change_view(request, object_id, form_url, extra_context)

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


@admin.register(SourceCooldown)
class SourceCooldownAdmin(admin.ModelAdmin):
    """Shows why workers pause; deleting a row lifts the pause early."""

    list_display = ("source", "until", "reason", "updated_at")
    readonly_fields = ("source", "until", "reason", "updated_at")

    def has_add_permission(self, request):
        return False
