"""The sync jobs by kind: the one list every door reads (the task dispatch, the admin's sync
buttons, the commands, the API and the schedules).

To add a kind: one package and one registry line.
1. A package under etfs/sync/ (say ``etfs/sync/stock_lists/``) whose ``job.py`` defines
   ``JOB = Job(kind=..., options=..., run=...)`` (etfs/sync/job.py): an options type with
   ``from_parameters``/``as_parameters`` (its limits checked with etfs/limits.py), and
   ``run(recorder, options)`` returning (status, summary); schedules, a chunk split, a plan
   and a universe (etfs/sync/universe.py) when it has them. The kind goes into
   ``SyncKind`` (etfs/models.py).
2. One line in ``_JOBS`` below.
A job never names a task and never enqueues: the task module (tasks.py) does (a split
returns the chunks' options; the task queues them).
"""

from __future__ import annotations

from etfs.models import SyncKind

from . import calendar_sync, corporate_actions, lists, suspensions
from .full_sync import job as full_sync
from .job import Job, ScheduleSpec
from .prices import job as prices
from .stock_lists import job as stock_lists
from .stock_prices import job as stock_prices

# In the order the admin shows their buttons and the schedules are listed.
_JOBS: tuple[Job, ...] = (
    lists.JOB,
    prices.JOB,
    stock_lists.JOB,
    stock_prices.JOB,
    calendar_sync.JOB,
    corporate_actions.JOB,
    suspensions.JOB,
    full_sync.JOB,
)
JOBS: dict[str, Job] = {job.kind: job for job in _JOBS}


class UnknownKind(LookupError):
    def __init__(self, kind: str):
        super().__init__(f"no sync job of kind {kind!r}; known: {', '.join(JOBS)}")


def job_for(kind: str | SyncKind) -> Job:
    try:
        return JOBS[kind]
    except KeyError:
        raise UnknownKind(kind) from None


def jobs() -> tuple[Job, ...]:
    return _JOBS


def schedules() -> list[tuple[Job, ScheduleSpec]]:
    """Every job's schedules, in registry order."""
    return [(job, spec) for job in _JOBS for spec in job.schedules]
