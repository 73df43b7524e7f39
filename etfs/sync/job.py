"""What a sync job is: the one small object each kind exposes, and what every door reads.

A job says its kind, the type of its options (read from and written to the run's stored
parameters), how to run (``run(recorder, options)`` returns the run's status and summary), and,
when it has them, its schedules, its split into chunk runs, its universe and its plan (what a
run would do, shown before it starts). The registry (``etfs/sync/registry.py``) maps kinds to
jobs; the task dispatch, the admin's buttons, the commands, the API and the schedules read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from etfs.models import SyncKind, SyncRun, SyncTrigger

from .runs import Progress, RunRecorder, run_sync


class JobOptions(Protocol):
    """What a run of a job covers: frozen, stored on the run as its parameters."""

    @classmethod
    def from_parameters(cls, parameters: dict) -> JobOptions: ...

    def as_parameters(self) -> dict: ...


@dataclass(frozen=True, slots=True)
class Split:
    """A run split into chunk runs: the parent's item count and each chunk's options."""

    items_total: int
    chunks: list[Any]


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """One django-q2 schedule of a job: fired on cron (Asia/Shanghai), on trading days only
    unless said otherwise. ``cron`` is a callable when a setting decides it."""

    name: str
    cron: str | Callable[[], str]
    parameters: dict | None = None  # None: the task's default (no parameters)
    trading_days_only: bool = True

    def cron_expression(self) -> str:
        return self.cron() if callable(self.cron) else self.cron


@dataclass(frozen=True)
class Job:
    kind: SyncKind
    options: type  # a JobOptions type
    run: Callable[[RunRecorder, Any], tuple[str, str]]
    # The door's words for it: the admin button ("Sync ETF lists") and its URL name.
    button: str = ""
    slug: str = ""
    schedules: tuple[ScheduleSpec, ...] = ()
    # A run too large for one worker becomes chunk runs (None: never split).
    split: Callable[[Any], Split | None] | None = None
    # What a run would do, asked of nobody (the admin confirms it before starting).
    plan: Callable[[Any], Any] | None = None
    # The securities the job works on (etfs.sync.universe), when it works on securities.
    universe: Any = None

    @property
    def label(self) -> str:
        return self.kind.label

    def default_options(self):
        return self.options.from_parameters({})

    def execute(
        self,
        options=None,
        *,
        run: SyncRun | None = None,
        trigger: str = SyncTrigger.COMMAND,
        user=None,
        progress: Progress | None = None,
    ) -> SyncRun:
        """Run the job in this process under the run lifecycle; return the finished run."""
        options = options if options is not None else self.default_options()
        return run_sync(
            self.kind,
            lambda recorder: self.run(recorder, options),
            options.as_parameters(),
            run=run,
            trigger=trigger,
            user=user,
            progress=progress,
        )
