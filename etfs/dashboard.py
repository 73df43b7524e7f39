"""What the admin's front page shows: funds, the last runs, runs in progress, pauses, trends."""

from __future__ import annotations

from django.utils import timezone

from etfs.models import SourceCooldown, StockInfo, SyncKind, SyncRun, SyncStatus
from etfs.schedules import PAUSED, scheduled_kind_and_parameters, sync_schedules
from etfs.sync.calendar import known_through, newest_known_final_day
from etfs.sync.lists import latest_list_differences

RECENT_RUNS = 30
NEXT_SCHEDULES = 5


def run_name(label: str) -> str:
    """A kind's label as the noun before "run": "ETF lists" -> "ETF list", "Corporate actions"
    -> "corporate action" (so: "Last ETF list run", "Last corporate action run")."""
    words = label.split()
    if words and not words[0].isupper():
        words[0] = words[0].lower()
    if words and words[-1].endswith("s") and not words[-1].endswith("ss"):
        words[-1] = words[-1][:-1]
    return " ".join(words)


CHART_WIDTH, CHART_HEIGHT = 300, 80


def dashboard() -> dict:
    top_level = SyncRun.objects.filter(parent=None)
    latest = {
        kind: (
            top_level.filter(kind=kind).order_by("-queued_at").first(),
            top_level.filter(kind=kind, status=SyncStatus.SUCCEEDED)
            .order_by("-finished_at")
            .first(),
        )
        for kind in SyncKind.values
    }
    final_day = newest_known_final_day()
    return {
        "etfs_by_exchange": StockInfo.objects.etf_count_by_exchange(),
        "stocks_by_exchange": StockInfo.objects.stock_count_by_exchange(),
        # Freshness from the stored columns: how many ETFs hold the last final day.
        "final_day": final_day,
        "freshness": StockInfo.objects.freshness_by_exchange(final_day) if final_day else {},
        "stock_freshness": (
            StockInfo.objects.freshness_by_exchange(final_day, is_etf=False) if final_day else {}
        ),
        "calendar_known_through": known_through(),
        # (the kind as a noun, its last run, its last successful run)
        "latest_runs": [
            (run_name(SyncKind(kind).label), last, succeeded)
            for kind, (last, succeeded) in latest.items()
        ],
        "next_schedules": next_schedules(),
        "active_runs": list(
            SyncRun.objects.active().filter(parent=None).select_related("requested_by")
        ),
        "cooldowns": list(SourceCooldown.objects.filter(until__gt=timezone.now())),
        "trend": trend_charts(recent_run_trend()),
        # (the last finished list run, the codes one list has and another lacks)
        "list_differences": latest_list_differences(),
    }


def next_schedules() -> list[dict]:
    """The next times the active sync schedules fire, soonest first."""
    schedules = sync_schedules().exclude(repeats=PAUSED).filter(next_run__isnull=False)
    rows = []
    for schedule in schedules[:NEXT_SCHEDULES]:
        kind, _ = scheduled_kind_and_parameters(schedule)
        label = SyncKind(kind).label if kind in SyncKind.values else kind
        rows.append({"schedule": schedule, "kind": label})
    return rows


def recent_run_trend() -> list[dict]:
    """The last finished top-level runs, oldest first: duration and rows written."""
    runs = (
        SyncRun.objects.filter(parent=None, finished_at__isnull=False, started_at__isnull=False)
        .order_by("-finished_at")
        .only("id", "kind", "status", "started_at", "finished_at", "rows_created", "rows_updated")[
            :RECENT_RUNS
        ]
    )
    return [
        {
            "id": run.pk,
            "kind": run.kind,
            "status": run.status,
            "seconds": round((run.finished_at - run.started_at).total_seconds(), 1),
            "rows_written": run.rows_created + run.rows_updated,
        }
        for run in reversed(runs)
    ]


def trend_charts(runs: list[dict]) -> list[dict]:
    """Two small bar charts (duration, rows written), drawn as SVG by the template.

    Server-side SVG rather than the chart library: thirty bars need no script, print in any
    browser and carry their numbers in <title> tooltips for screen readers.
    """
    charts = []
    for key, title, unit, unit_name in (
        ("seconds", "Duration", "s", "seconds"),
        ("rows_written", "Rows written", "", "rows"),
    ):
        peak = max((run[key] for run in runs), default=0) or 1
        width = CHART_WIDTH / RECENT_RUNS
        bars = [
            {
                **run,
                "x": round(index * width + 1, 1),
                "width": round(width - 2, 1),
                "height": round(max(1.0, CHART_HEIGHT * run[key] / peak), 1),
                "value": run[key],
            }
            for index, run in enumerate(runs)
        ]
        for bar in bars:
            bar["y"] = round(CHART_HEIGHT - bar["height"], 1)
        charts.append(
            {"title": title, "unit": unit, "unit_name": unit_name, "peak": peak, "bars": bars}
        )
    return charts
