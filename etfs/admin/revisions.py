"""Bars the source revised: every revision across runs, with what changed, filtered by run."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from etfs.models import BarRevision, SyncRun

from . import display
from .read_only import SyncedDataAdmin

RUNS_IN_FILTER = 30


class RevisionRunFilter(admin.SimpleListFilter):
    """The runs that revised bars, newest first (a run's page links here with ?run=ID)."""

    title = "run"
    parameter_name = "run"

    def lookups(self, request, model_admin):
        runs = SyncRun.objects.filter(revisions__isnull=False).distinct().order_by("-id")
        chosen = [self.value()] if self.value() and self.value().isdigit() else []
        ids = list(runs.values_list("id", flat=True)[:RUNS_IN_FILTER])
        ids += [int(value) for value in chosen if int(value) not in ids]
        return [(str(pk), f"Run #{pk}") for pk in ids]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(run_id=int(value))
        return queryset


@admin.register(BarRevision)
class BarRevisionAdmin(SyncedDataAdmin, admin.ModelAdmin):
    list_display = ("security_link", "trade_date", "changes", "run_link", "revised_at")
    list_display_links = None  # the links lead to the security and the run
    list_filter = (
        RevisionRunFilter,
        "security__exchange",
        ("trade_date", admin.DateFieldListFilter),
        ("revised_at", admin.DateFieldListFilter),
    )
    list_select_related = ("security", "run")
    search_fields = ("security__code", "security__name")
    date_hierarchy = "trade_date"
    list_per_page = 100

    @admin.display(description="security", ordering="security__code")
    def security_link(self, obj):
        url = reverse("admin:etfs_stockinfo_change", args=[obj.security_id])
        return format_html('<a href="{}">{}</a>', url, obj.security)

    @admin.display(description="what changed (before → after)")
    def changes(self, obj):
        return revision_changes_html(obj)

    @admin.display(description="run", ordering="run")
    def run_link(self, obj):
        if obj.run_id is None:
            return "-"
        url = reverse("admin:etfs_syncrun_change", args=[obj.run_id])
        return format_html('<a href="{}">Run #{}</a>', url, obj.run_id)


def revision_changes_html(revision: BarRevision) -> str:
    changes = display.revision_changes(revision)
    if not changes:
        return "no value changed"
    return format_html_join(
        "; ",
        '<span class="revision">{} <del>{}</del> → <ins>{}</ins></span>',
        changes,
    )
