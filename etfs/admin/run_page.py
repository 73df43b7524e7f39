"""What a run's page shows below its fields: progress, chunks, problems by kind, problems."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.urls import reverse

from etfs.models import SyncRun
from etfs.sync.report import grouped_problems, run_progress

PROBLEMS_PER_PAGE = 50
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
    }
