"""The sync buttons and what they do: one per registered job (etfs/sync/registry.py); a
button queues a run, tells the user, and links to it. A job with a plan (prices) shows it on
a confirmation page first."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from etfs.models import SyncTrigger
from etfs.sync.registry import job_for, jobs
from etfs.tasks import enqueue_sync

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


def button_id(kind: str) -> str:
    """The HTML id of a job's button: sync-etf-prices, sync-calendar, ..."""
    return "sync-" + str(kind).replace("_", "-")


class SyncButtonsMixin:
    """Adds one URL per registered job for its button on the change list: POST queues a run;
    GET shows the plan to confirm, for a job that has one."""

    change_list_template = "admin/etfs/change_list_with_sync.html"

    def sync_url_name(self, job) -> str:
        info = self.model._meta.app_label, self.model._meta.model_name
        return "{}_{}_sync_{}".format(*info, job.slug.replace("-", "_"))

    def get_urls(self):
        urls = [
            path(
                f"sync-{job.slug}/",
                self.admin_site.admin_view(self.sync_view),
                {"kind": job.kind.value},
                name=self.sync_url_name(job),
            )
            for job in jobs()
        ]
        return urls + super().get_urls()

    def sync_view(self, request, kind: str):
        """POST: queue a run of the job; GET: its plan, for a job that has one."""
        job = job_for(kind)
        allowed = ["GET", "POST"] if job.plan else ["POST"]
        if request.method not in allowed:
            return HttpResponseNotAllowed(allowed)
        if request.method == "POST":
            return start_sync(request, job.kind)
        if not can_run_sync(request):
            raise PermissionDenied("You may not start sync runs.")
        context = {
            **self.admin_site.each_context(request),
            "title": f"{job.button.rstrip('…')}?",
            "plan": job.plan(job.default_options()),
            "button_id": button_id(job.kind),
            "opts": self.model._meta,
        }
        # Every plan is a price plan (etfs/sync/price_plan.py): one page for every universe.
        return TemplateResponse(request, "admin/etfs/sync_plan_confirm.html", context)

    def changelist_view(self, request, extra_context=None):
        buttons = [
            {
                "url": reverse(f"admin:{self.sync_url_name(job)}"),
                "label": job.button,
                "id": button_id(job.kind),
                "confirm_first": job.plan is not None,
            }
            for job in jobs()
            if job.button
        ]
        extra_context = {
            **(extra_context or {}),
            "can_run_sync": can_run_sync(request),
            "sync_buttons": buttons,
        }
        return super().changelist_view(request, extra_context)
