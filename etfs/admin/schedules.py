"""The schedules page: each sync schedule with its kind, cron, next run time, the runs it
started and their outcome; pause, resume and run now.

It replaces django-q2's own schedule admin (same address, under "Task queue"), which shows the
raw task fields only. The schedules stay editable: they are the operator's, not a sync's.
"""

from __future__ import annotations

# django-q2's own page, registered by its admin module: imported before this module replaces
# it, whichever of the two is discovered first (etfsync_site/admin_app.py).
import django_q.admin  # noqa: F401
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django_q.models import Schedule

from etfs.models import SyncKind, SyncRun
from etfs.schedules import (
    SCHEDULED_SYNC,
    is_paused,
    pause_schedules,
    resume_schedules,
    scheduled_kind_and_parameters,
)

from . import display
from .sync_buttons import can_run_sync, start_sync

RUNS_SHOWN = 5

admin.site.unregister(Schedule)


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "cron_shown", "state", "next_run_shown", "last_runs")
    list_display_links = ("name",)
    search_fields = ("name",)
    ordering = ("next_run", "name")
    actions = ["pause", "resume", "run_now"]
    fields = ("name", "func", "args", "kwargs", "schedule_type", "cron", "minutes", "repeats")
    readonly_fields = ("func",)

    @admin.display(description="kind")
    def kind(self, obj):
        if obj.func != SCHEDULED_SYNC:
            return "maintenance"
        kind, parameters = scheduled_kind_and_parameters(obj)
        label = SyncKind(kind).label if kind in SyncKind.values else kind
        options = ", ".join(f"{key}: {value}" for key, value in parameters.items())
        return f"{label} ({options})" if options else label

    @admin.display(description="cron (Asia/Shanghai)", ordering="cron")
    def cron_shown(self, obj):
        if obj.schedule_type == Schedule.CRON:
            return format_html("<code>{}</code>", obj.cron)
        if obj.schedule_type == Schedule.MINUTES:
            return f"every {obj.minutes} min"
        return obj.get_schedule_type_display()

    @admin.display(description="state", ordering="repeats")
    def state(self, obj):
        if is_paused(obj):
            return format_html('<span class="schedule-paused">{}</span>', "Paused")
        return "Active"

    @admin.display(description="next run", ordering="next_run")
    def next_run_shown(self, obj):
        if is_paused(obj) or obj.next_run is None:
            return "-"
        when = localtime(obj.next_run)
        return format_html(
            '<time datetime="{}">{}</time>', when.isoformat(), date_format(when, "Y-m-d H:i")
        )

    @admin.display(description="last runs it started")
    def last_runs(self, obj):
        # One query per schedule: a handful of schedules, each run row indexed by schedule.
        runs = list(
            SyncRun.objects.filter(schedule=obj.name, parent=None)
            .order_by("-queued_at")
            .only("id", "status")[:RUNS_SHOWN]
        )
        if not runs:
            return "none yet"
        return format_html_join(
            " ",
            '<a href="{}">#{}</a> {}',
            (
                (
                    reverse("admin:etfs_syncrun_change", args=[run.pk]),
                    run.pk,
                    display.status_badge(run),
                )
                for run in runs
            ),
        )

    @admin.action(description="Pause the selected schedules", permissions=["change"])
    def pause(self, request, queryset):
        paused = pause_schedules(queryset)
        self.message_user(
            request, f"Paused {paused} schedule(s); they start nothing until resumed."
        )

    @admin.action(description="Resume the selected schedules", permissions=["change"])
    def resume(self, request, queryset):
        resumed = resume_schedules(queryset)
        self.message_user(request, f"Resumed {resumed} schedule(s) from their next time on.")

    @admin.action(description="Run the selected schedules now", permissions=["run_sync"])
    def run_now(self, request, queryset):
        """One run of each schedule's kind and parameters, queued now, as its button would."""
        schedules = [s for s in queryset if s.func == SCHEDULED_SYNC]
        if len(schedules) != 1:
            self.message_user(request, "Choose one sync schedule to run now.", messages.WARNING)
            return None
        kind, parameters = scheduled_kind_and_parameters(schedules[0])
        return start_sync(request, kind, parameters)

    def has_run_sync_permission(self, request):
        return can_run_sync(request)
