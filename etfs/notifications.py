"""Telling people about a run that went wrong while nobody was watching.

A scheduled or API-started run ends `failed` or `partial`, or leaves every security far behind
(the source's data are stale, ``SyncRun.stale_source_day``): the site's ADMINS get a mail (when
ADMINS is set; the mail server comes from EMAIL_URL) and, when ETFSYNC_NOTIFY_WEBHOOK_URL is
set, that URL receives a small JSON document (Slack-style incoming webhooks, ntfy, a chat bot).
A run someone started from the admin or a command is already in front of them: no message.
A notification that cannot be delivered is logged; it never changes how the run ended.

It listens to the end of a run (``etfs.sync.runs.run_finished``, connected in apps.py): the
bookkeeping that ends runs knows nothing of mail, webhooks or admin pages.
"""

from __future__ import annotations

import logging
import smtplib

import requests
from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.urls import reverse

from etfs.models import SyncRun, SyncStatus, SyncTrigger

logger = logging.getLogger(__name__)

NOTIFIED_TRIGGERS = (SyncTrigger.SCHEDULE, SyncTrigger.API)
NOTIFIED_STATUSES = (SyncStatus.FAILED, SyncStatus.PARTIAL)
WEBHOOK_TIMEOUT = (5, 10)  # (connect, read) seconds


def notify_run_finished(sender, run: SyncRun, **kwargs) -> None:
    """Receives ``run_finished``; sends after the surrounding commit."""
    if run.parent_id or run.trigger not in NOTIFIED_TRIGGERS:
        return
    if run.status not in NOTIFIED_STATUSES and not run.stale_source_day:
        return
    transaction.on_commit(lambda: send_run_notifications(run))


def send_run_notifications(run: SyncRun) -> None:
    document = run_document(run)
    if settings.ADMINS:
        _send_mail(run, document)
    if settings.ETFSYNC_NOTIFY_WEBHOOK_URL:
        _post_webhook(document)


def run_document(run: SyncRun) -> dict:
    """The JSON the webhook receives (and the facts the mail gives)."""
    path = reverse("admin:etfs_syncrun_change", args=[run.pk])
    return {
        "event": "sync_run_finished",
        "run": run.pk,
        "kind": run.kind,
        "status": run.status,
        "trigger": run.trigger,
        "requested_by": str(run.requested_by) if run.requested_by_id else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "items_total": run.items_total,
        "items_failed": run.items_failed,
        "rows_written": run.rows_created + run.rows_updated,
        "summary": run.error_summary[:1000],
        "stale_source_day": run.stale_source_day.isoformat() if run.stale_source_day else None,
        "url": settings.ETFSYNC_BASE_URL.rstrip("/") + path,
    }


def _send_mail(run: SyncRun, document: dict) -> None:
    subject = (
        f"Run #{run.pk} ({run.get_kind_display()}, {run.get_trigger_display()}) ended {run.status}"
    )
    if run.stale_source_day:
        subject += f"; the source's data are stale (newest {run.stale_source_day})"
    lines = [f"{key}: {value}" for key, value in document.items() if key != "event"]
    try:
        mail_admins(subject, "\n".join(lines), fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("could not mail the admins about run #%s: %s", run.pk, exc)


def _post_webhook(document: dict) -> None:
    try:
        response = requests.post(
            settings.ETFSYNC_NOTIFY_WEBHOOK_URL, json=document, timeout=WEBHOOK_TIMEOUT
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        logger.warning("could not notify the webhook about run #%s: %s", document["run"], exc)
