"""What a run's page shows below its fields: progress, chunks, problems by kind, problems,
the bars it revised."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.urls import reverse

from etfs.models import SyncRun
from etfs.sync.report import grouped_problems, run_progress

from .display import revision_changes

PROBLEMS_PER_PAGE = 50
TIMELINE_PROBLEMS = 30
REVISIONS_SHOWN = 50
DETAIL_EXCERPT = 300


def run_page_context(request, run: SyncRun) -> dict:
    problems = Paginator(run.errors.select_related(None).order_by("id"), PROBLEMS_PER_PAGE)
    page = problems.get_page(request.GET.get("problems"))
    for problem in page.object_list:
        problem.detail_excerpt = problem.detail[:DETAIL_EXCERPT]
    return {
        "run_progress": run_progress(run),
        "chunks": list(run.chunks.order_by("id")) if run.parent_id is None else [],
        "problem_groups": grouped_problems(run),
        "problems_page": page,
        "problems_url": reverse("admin:etfs_syncrunerror_changelist") + f"?run__id__exact={run.pk}",
        **revisions_context(run),
        "timeline": run_timeline(run),
    }


def run_timeline(run: SyncRun) -> list[tuple]:
    """(time, what happened) from what the run stored, oldest first: queued, started, each
    chunk's start and end, the first problems as they came, the end."""
    events = [(run.queued_at, f"queued ({run.get_trigger_display().lower()})")]
    if run.started_at:
        events.append((run.started_at, "started"))
    chunks = run.chunks.order_by("id")
    for chunk in chunks.only("id", "kind", "status", "started_at", "finished_at"):
        name = f"{run.child_noun} #{chunk.pk}"
        if chunk.kind != run.kind:  # a step of a full sync: say which
            name += f" ({chunk.get_kind_display()})"
        if chunk.started_at:
            events.append((chunk.started_at, f"{name} started"))
        if chunk.finished_at:
            events.append((chunk.finished_at, f"{name} {chunk.status}"))
    problems = run.errors.order_by("created_at", "id")
    for problem in problems[:TIMELINE_PROBLEMS]:
        code = f"{problem.code}: " if problem.code else ""
        text = f"{problem.get_severity_display().lower()}: {code}{problem.message}"
        events.append((problem.created_at, text[:200]))
    more = problems.count() - TIMELINE_PROBLEMS if TIMELINE_PROBLEMS else 0
    if more > 0:
        last = problems.order_by("-created_at", "-id").first()
        events.append((last.created_at, f"… {more} more problem(s), listed below"))
    if run.finished_at:
        events.append((run.finished_at, f"ended {run.status}"))
    return sorted(events, key=lambda event: event[0])


def revisions_context(run: SyncRun) -> dict:
    """The first bars the run revised, each with what changed, and the way to all of them."""
    revisions = list(run.revisions.select_related("security").order_by("id")[:REVISIONS_SHOWN])
    for revision in revisions:
        revision.changes = revision_changes(revision)
    count = len(revisions) if len(revisions) < REVISIONS_SHOWN else run.revisions.count()
    return {
        "revisions": revisions,
        "revision_count": count,
        "revisions_url": reverse("admin:etfs_barrevision_changelist") + f"?run={run.pk}",
    }
