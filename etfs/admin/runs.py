"""Sync runs, their problems, and the source cooldowns that pause them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from etfs.models import (
    FINAL_STATUSES,
    SourceCooldown,
    SyncRun,
    SyncRunError,
    SyncStatus,
    SyncTrigger,
)
from etfs.sync.runs import cancel_runs
from etfs.tasks import rerun, retry_failed_items

from . import display
from .read_only import SyncedDataAdmin
from .run_page import run_page_context
from .sync_buttons import SyncButtonsMixin, can_run_sync


class RunLevelFilter(admin.SimpleListFilter):
    """Top-level runs by default: chunks of a fan-out add their numbers to their parent."""

    title = "level"
    parameter_name = "level"
    TOP = "top"

    def lookups(self, request, model_admin):
        return [(self.TOP, "Top-level runs"), ("chunks", "Chunks"), ("all", "All runs")]

    def value(self):
        return super().value() or self.TOP

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "chunks":
            return queryset.exclude(parent=None)
        if self.value() == "all":
            return queryset
        return queryset.filter(parent=None)


@admin.register(SyncRun)
class SyncRunAdmin(SyncButtonsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "kind_and_trigger",
        "status_badge",
        "queued",
        "duration_display",
        "progress",
        "fetched",
        "written",
        "unchanged",
        "failed",
    )
    list_filter = (RunLevelFilter, "kind", "status", "trigger")
    date_hierarchy = "queued_at"
    actions = ["request_cancel", "retry_failed"]
    change_form_template = "admin/etfs/syncrun/change_form.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "kind",
                    "status_badge",
                    "started_by",
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
        ("Errors", {"fields": ("error_summary",)}),
    )

    def get_fieldsets(self, request, obj=None):
        """A succeeded run's summary is its notes (a holiday, ETFs without the day's bar), not
        errors."""
        if obj is not None and obj.status == SyncStatus.SUCCEEDED:
            return (*self.fieldsets[:-1], ("Notes", {"fields": ("notes",)}))
        return self.fieldsets

    @admin.display(description="notes")
    def notes(self, obj):
        return obj.error_summary or "-"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by")

    def get_readonly_fields(self, request, obj=None):
        names = [field.name for field in SyncRun._meta.fields]
        return names + ["status_badge", "started_by", "duration_display", "task_link", "notes"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        """A queued or running run is not deleted: its worker would write to a missing row.

        The bulk "delete selected" asks this for every run of the selection too, so it refuses
        a selection that holds an active run.
        """
        if obj is not None and not obj.is_final:
            return False
        return super().has_delete_permission(request, obj)

    def has_run_sync_permission(self, request):
        return can_run_sync(request)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return display.status_badge(obj)

    @admin.display(description="started by", ordering="trigger")
    def started_by(self, obj):
        return display.started_by(obj)

    @admin.display(description="kind, started by", ordering="kind")
    def kind_and_trigger(self, obj):
        return format_html(
            '{}<br><span class="quiet">{}</span>', obj.get_kind_display(), display.started_by(obj)
        )

    @admin.display(description="queued", ordering="queued_at")
    def queued(self, obj):
        """ "11-30 21:06" this year, "2025-11-30" before: the list must fit 1,280 px."""
        queued_at = localtime(obj.queued_at)
        same_year = queued_at.year == localtime().year
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            queued_at.isoformat(),
            date_format(queued_at, "Y-m-d H:i:s"),
            date_format(queued_at, "m-d H:i" if same_year else "Y-m-d"),
        )

    @admin.display(description="duration")
    def duration_display(self, obj):
        return display.short_duration(obj.duration)

    @admin.display(description="progress")
    def progress(self, obj):
        return display.run_progress_cell(obj)

    @admin.display(description="fetched", ordering="rows_fetched")
    def fetched(self, obj):
        return display.grouped(obj.rows_fetched)

    @admin.display(description="written")
    def written(self, obj):
        return format_html(
            '<span title="{} new, {} updated">{}</span>',
            display.grouped(obj.rows_created),
            display.grouped(obj.rows_updated),
            display.grouped(obj.rows_created + obj.rows_updated),
        )

    @admin.display(description="unchanged", ordering="rows_unchanged")
    def unchanged(self, obj):
        return display.grouped(obj.rows_unchanged)

    @admin.display(description="failed", ordering="items_failed")
    def failed(self, obj):
        return display.grouped(obj.items_failed)

    @admin.display(description="task")
    def task_link(self, obj):
        """The django-q task, with its state only once that state says something about the run.

        A fanned-out run's task ends as soon as its chunks are queued, so "success" next to a
        run that is still running would mislead; a failed task is worth showing at any time.
        """
        if not obj.task_id:
            return "- (ran in the command's process)" if obj.trigger != "api" else "-"
        from django_q.models import Task

        task = Task.objects.filter(id=obj.task_id).first()
        if task is None:
            waiting = "waiting in the queue" if obj.status == SyncStatus.QUEUED else "in progress"
            return format_html("{} ({})", obj.task_id, waiting if not obj.is_final else "-")
        if not obj.is_final and task.success:
            return format_html("{} (handed over; the run goes on)", obj.task_id)
        model = "success" if task.success else "failure"
        url = reverse(f"admin:django_q_{model}_change", args=[task.pk])
        return format_html('<a href="{}">{}</a> ({})', url, obj.task_id, model)

    @admin.action(description="Cancel the selected runs", permissions=["run_sync"])
    def request_cancel(self, request, queryset):
        asked, cancelled = cancel_runs(queryset)
        self.message_user(
            request, f"Asked {asked} run(s) to stop; {cancelled} queued run(s) cancelled at once."
        )

    def get_urls(self):
        cancel = path(
            "<int:run_id>/cancel/",
            self.admin_site.admin_view(self.cancel_view),
            name="etfs_syncrun_cancel",
        )
        again = path(
            "<int:run_id>/rerun/",
            self.admin_site.admin_view(require_POST(self.rerun_view)),
            name="etfs_syncrun_rerun",
        )
        return [cancel, again, *super().get_urls()]

    def rerun_view(self, request, run_id: int):
        """The Re-run button of an ended top-level run's page: the same kind and parameters."""
        if not can_run_sync(request):
            raise PermissionDenied("You may not start sync runs.")
        run = SyncRun.objects.filter(pk=run_id, parent=None).first()
        if run is None or not run.is_final:
            self.message_user(request, f"Run #{run_id} cannot be re-run.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:etfs_syncrun_changelist"))
        again, created = rerun(run, trigger=SyncTrigger.ADMIN, user=request.user)
        url = reverse("admin:etfs_syncrun_change", args=[again.pk])
        if created:
            self.message_user(request, f"Run #{again.pk} re-runs run #{run_id}.")
        else:
            self.message_user(
                request,
                f"Run #{again.pk} of the same scope is already {again.status}; not starting "
                "another.",
                messages.WARNING,
            )
        return HttpResponseRedirect(url)

    def cancel_view(self, request, run_id: int):
        """The Cancel button of an active run's page: a confirmation, then the cancel (POST)."""
        if not can_run_sync(request):
            raise PermissionDenied("You may not cancel sync runs.")
        if request.method != "POST":
            run = SyncRun.objects.filter(pk=run_id).first()
            if run is None:
                raise Http404(f"there is no run #{run_id}")
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "run": run,
                "title": f"Cancel run #{run.pk}?",
            }
            return TemplateResponse(request, "admin/etfs/syncrun/cancel_confirm.html", context)
        asked, cancelled = cancel_runs(SyncRun.objects.filter(pk=run_id))
        if cancelled:
            self.message_user(request, f"Run #{run_id} was queued; it is cancelled.")
        elif asked:
            self.message_user(request, f"Run #{run_id} will stop at the next ETF.")
        else:
            self.message_user(request, f"Run #{run_id} had finished already.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:etfs_syncrun_change", args=[run_id]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_run_sync": can_run_sync(request),
            **(run_page_context(request, run) if run else {}),
        }
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
class SyncRunErrorAdmin(SyncedDataAdmin, admin.ModelAdmin):
    """A run's problems are its record: they go with the run, never one by one."""

    list_display = ("run", "severity", "code", "message", "created_at")
    list_filter = ("severity", "run__kind")
    search_fields = ("code", "message")
    raw_id_fields = ("run", "security")
    list_select_related = ("run",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in SyncRunError._meta.fields]


@admin.register(SourceCooldown)
class SourceCooldownAdmin(admin.ModelAdmin):
    """Shows why workers pause; deleting a row lifts the pause early."""

    list_display = ("source", "until", "reason", "updated_at")
    readonly_fields = ("source", "until", "reason", "updated_at")

    def has_add_permission(self, request):
        return False
