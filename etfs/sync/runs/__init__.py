"""SyncRun bookkeeping, shared by every sync kind.

- ``lifecycle``: create or join (one active run per scope), start, forward-only finish, and
  ``run_sync``, the lifecycle every job runs under; ``run_finished`` announces an end.
- ``recorder``: counters, typed problems (``problems``) and the one ``should_stop()`` check.
- ``heartbeat``: the thread that beats while a run works.
- ``recovery``: dead workers' runs, forgotten queued runs, cancelling.
- ``fanout``: chunk runs of one parent, and the parent's end.
"""

from etfs.models import COUNTERS

from .fanout import create_chunks, finish_parent_if_last
from .lifecycle import (
    SyncAlreadyRunning,
    create_run,
    finish_run,
    run_finished,
    run_sync,
    start_run,
)
from .problems import LIST_DIFFERENCE, Problem, Severity
from .recorder import Progress, RunRecorder, RunStopped
from .recovery import cancel_queued, cancel_runs, recover_stale_runs
from .scope import canonical_parameters, scope_for

__all__ = [
    "COUNTERS",
    "LIST_DIFFERENCE",
    "Problem",
    "Progress",
    "RunRecorder",
    "RunStopped",
    "Severity",
    "SyncAlreadyRunning",
    "cancel_queued",
    "cancel_runs",
    "canonical_parameters",
    "create_chunks",
    "create_run",
    "finish_parent_if_last",
    "finish_run",
    "recover_stale_runs",
    "run_finished",
    "run_sync",
    "scope_for",
    "start_run",
]
