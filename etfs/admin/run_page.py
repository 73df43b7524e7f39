"""What a run's page shows below its fields: progress, chunks, problems by kind, problems,
the bars it revised."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.urls import reverse

from etfs.models import SyncRun
from etfs.sync.report import grouped_problems, run_progress

from .display import revision_changes

PROBLEMS_PER_PAGE = 50
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
    }


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
