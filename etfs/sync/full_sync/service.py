"""Run the steps of a full sync in order, each as a child run of the full sync's run.

A step whose prerequisite failed (or was cancelled, or was not run) is not run: its child run
ends cancelled and says which prerequisite stopped it. A partial step counts as done: what it
stored is there for the steps after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from etfs.models import SyncKind, SyncRun, SyncStatus

from ..runs import RunRecorder

DONE = (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL)


@dataclass(frozen=True, slots=True)
class Step:
    kind: SyncKind
    parameters: dict
    needs: tuple[SyncKind, ...] = ()


# The everyday order: the calendar decides the days, the lists decide the securities, the
# prices need both, and the events' factors need the stored closes.
FULL = (
    Step(SyncKind.CALENDAR, {}),
    Step(SyncKind.ETF_LISTS, {}),
    Step(SyncKind.STOCK_LISTS, {}),
    Step(SyncKind.ETF_PRICES, {}, (SyncKind.CALENDAR, SyncKind.ETF_LISTS)),
    Step(SyncKind.STOCK_PRICES, {}, (SyncKind.CALENDAR, SyncKind.STOCK_LISTS)),
    Step(SyncKind.CORPORATE_ACTIONS, {}, (SyncKind.ETF_LISTS, SyncKind.ETF_PRICES)),
)
# After the close: the day from one pass over each list (a few pages each, no k-line per
# security).
DAILY = (
    Step(SyncKind.CALENDAR, {}),
    Step(SyncKind.ETF_PRICES, {"from_list": True}, (SyncKind.CALENDAR,)),
    Step(SyncKind.STOCK_PRICES, {"from_list": True}, (SyncKind.CALENDAR,)),
)


@dataclass(frozen=True, slots=True)
class FullSyncOptions:
    """``daily``: the after-close update instead of the whole sync."""

    daily: bool = False

    @classmethod
    def from_parameters(cls, parameters: dict) -> FullSyncOptions:
        return cls(daily=bool(parameters.get("daily")))

    def as_parameters(self) -> dict:
        return {"daily": True} if self.daily else {}

    @property
    def steps(self) -> tuple[Step, ...]:
        return DAILY if self.daily else FULL


def sync_everything(recorder: RunRecorder, options: FullSyncOptions) -> tuple[str, str]:
    """The full sync job's body: each step a child run, in order; the parent's status and a
    summary naming each step's outcome."""
    from ..registry import job_for  # the registry lists this job too

    parent = recorder.run
    outcomes: dict[SyncKind, SyncRun] = {}
    for step in options.steps:
        if recorder.should_stop(now=True):
            break
        child = SyncRun.objects.create(
            kind=step.kind,
            trigger=parent.trigger,
            requested_by_id=parent.requested_by_id,
            parent=parent,
            parameters=step.parameters,
            status=SyncStatus.QUEUED,
        )
        blocker = next((need for need in step.needs if _failed(outcomes.get(need))), None)
        if blocker is not None:
            outcomes[step.kind] = _not_run(child, outcomes.get(blocker), blocker)
            continue
        job = job_for(step.kind)
        options_of_step = job.options.from_parameters(step.parameters)
        outcomes[step.kind] = job.execute(options_of_step, run=child, trigger=parent.trigger)
    return _outcome(options.steps, outcomes)


def _failed(run: SyncRun | None) -> bool:
    return run is None or run.status not in DONE


def _not_run(child: SyncRun, blocker_run: SyncRun | None, blocker: SyncKind) -> SyncRun:
    state = f"run #{blocker_run.pk} {blocker_run.status}" if blocker_run else "not run"
    summary = f"not run: its prerequisite {blocker.label} did not succeed ({state})"
    now = timezone.now()
    SyncRun.objects.filter(pk=child.pk).update(
        status=SyncStatus.CANCELLED, finished_at=now, error_summary=summary
    )
    child.refresh_from_db()
    return child


def _outcome(steps, outcomes: dict) -> tuple[str, str]:
    parts, statuses = [], []
    for step in steps:
        run = outcomes.get(step.kind)
        if run is None:
            parts.append(f"{step.kind.label}: not run (the full sync was stopped)")
            statuses.append(SyncStatus.CANCELLED)
            continue
        statuses.append(run.status)
        reason = run.error_summary.splitlines()[0] if run.error_summary else ""
        parts.append(
            f"{step.kind.label}: run #{run.pk} {run.status}"
            + (f" ({reason})" * bool(reason and run.status != SyncStatus.SUCCEEDED))
        )
    if all(status == SyncStatus.SUCCEEDED for status in statuses):
        status = SyncStatus.SUCCEEDED
    elif any(status in DONE for status in statuses):
        status = SyncStatus.PARTIAL
    else:
        status = SyncStatus.FAILED
    return status, "; ".join(parts)
