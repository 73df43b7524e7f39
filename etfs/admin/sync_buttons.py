"""The sync buttons and what they do: queue a run, tell the user, link to it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from etfs.models import SyncKind, SyncTrigger
from etfs.sync.price_plan import plan_price_run
from etfs.sync.prices import PriceOptions
from etfs.sync.queue import enqueue_sync

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
        label = run.get_kind_display()
        text = format_html(
            '{} {} run is already {}: <a href="{}">run #{}</a>. Not starting another.',
            "An" if label[:1] in "AEIOU" else "A",
            label,
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
                self.admin_site.admin_view(
                    require_http_methods(["GET", "POST"])(self.sync_prices_view)
                ),
                name="{}_{}_sync_prices".format(*info),
            ),
            path(
                "sync-corporate-actions/",
                self.admin_site.admin_view(require_POST(self.sync_corporate_actions_view)),
                name="{}_{}_sync_corporate_actions".format(*info),
            ),
            path(
                "sync-calendar/",
                self.admin_site.admin_view(require_POST(self.sync_calendar_view)),
                name="{}_{}_sync_calendar".format(*info),
            ),
        ]
        return urls + super().get_urls()

    def sync_lists_view(self, request):
        return start_sync(request, SyncKind.ETF_LISTS)

    def sync_prices_view(self, request):
        """GET: the plan of a price run of every ETF, to confirm; POST: queue it."""
        if request.method == "POST":
            return start_sync(request, SyncKind.ETF_PRICES)
        if not can_run_sync(request):
            raise PermissionDenied("You may not start sync runs.")
        context = {
            **self.admin_site.each_context(request),
            "title": "Sync all ETF prices?",
            "plan": plan_price_run(PriceOptions()),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/etfs/sync_prices_confirm.html", context)

    def sync_calendar_view(self, request):
        return start_sync(request, SyncKind.CALENDAR)

    def sync_corporate_actions_view(self, request):
        return start_sync(request, SyncKind.CORPORATE_ACTIONS)

    def changelist_view(self, request, extra_context=None):
        info = self.model._meta.app_label, self.model._meta.model_name
        extra_context = {
            **(extra_context or {}),
            "can_run_sync": can_run_sync(request),
            "sync_lists_url": reverse("admin:{}_{}_sync_lists".format(*info)),
            "sync_prices_url": reverse("admin:{}_{}_sync_prices".format(*info)),
            "sync_corporate_actions_url": reverse(
                "admin:{}_{}_sync_corporate_actions".format(*info)
            ),
            "sync_calendar_url": reverse("admin:{}_{}_sync_calendar".format(*info)),
        }
        return super().changelist_view(request, extra_context)
