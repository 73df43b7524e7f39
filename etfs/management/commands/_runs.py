"""What the sync commands share: a progress bar, the summary line and the exit status."""

from __future__ import annotations

from contextlib import closing, contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError
from tqdm import tqdm

from etfs.models import SyncRun, SyncStatus, SyncTrigger
from etfs.sync.registry import job_for
from etfs.sync.runs import SyncAlreadyRunning
from etfs.tasks import enqueue_sync

# Exit statuses: 0 succeeded, 1 failed, 2 bad arguments (argparse), 3 partial.
EXIT_FAILED = 1
EXIT_PARTIAL = 3
EXIT_USAGE = 2
QUEUE_HELP = "Enqueue for a qcluster and print the run id."


class SyncCommand(BaseCommand):
    """The base of every sync command: a database that cannot be reached, or goes away, is one
    line and exit 1; with ``kind`` set, the queue-or-run handling of that registered job.

    A command of a job declares its own arguments (``add_job_arguments``) and turns them into
    the job's options (``job_options``); this base adds ``--queue`` (and ``--no-progress``
    when ``progress_unit`` is set), then enqueues the run or runs it here with a progress bar,
    prints the summary line and exits 0, 1 or 3 (``finish_command``).
    """

    # No system checks before a sync: a sync command is what schedules and cron run, like a
    # queued run in a qcluster, which runs none either. The checks (`manage.py check`, and every
    # migrate and server start) import the URL configuration and with it the whole API stack
    # (django-ninja, pydantic): about 0.3 s of CPU at every sync command's start for nothing a
    # sync uses (docs/benchmarks.md, a user's full-history run).
    requires_system_checks: list[str] = []

    kind = ""  # the registered job (etfs/sync/registry.py)
    progress_unit = ""  # what the progress bar counts; no bar (and no --no-progress) if empty
    already_running = "a run of this scope"  # in "... is already running: run #N"

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except (OperationalError, InterfaceError) as exc:
            reason = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
            message = f"the database is unreachable: {reason}"
            raise CommandError(message, returncode=EXIT_FAILED) from exc

    def add_arguments(self, parser):
        self.add_job_arguments(parser)
        parser.add_argument("--queue", action="store_true", help=QUEUE_HELP)
        # Django offers it only to commands that run checks; kept so that a cron line or a
        # script written with it goes on working.
        parser.add_argument("--skip-checks", action="store_true", help="Accepted; no effect.")
        if self.progress_unit:
            parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def add_job_arguments(self, parser) -> None:
        """The job's own arguments."""

    def job_options(self, options):
        """The job's options from the parsed arguments (usage errors: CommandError, exit 2)."""
        return job_for(self.kind).default_options()

    def before_run(self, job_options, options) -> bool:
        """Work done instead of a run (a dry run): True when the command is done."""
        return False

    def handle(self, *args, **options):
        job = job_for(self.kind)
        job_options = self.job_options(options)
        if self.before_run(job_options, options):
            return
        if options["queue"]:
            parameters = job_options.as_parameters()
            run, created = enqueue_sync(job.kind, SyncTrigger.COMMAND, parameters)
            report_queued(self, run, created)
            return
        bar = ProgressBar(
            self.stderr,
            unit=self.progress_unit,
            enabled=bool(self.progress_unit) and not options.get("no_progress"),
        )
        with refusing_a_second_run(self.already_running), closing(bar):
            run = job.execute(job_options, trigger=SyncTrigger.COMMAND, progress=bar)
        finish_command(self, run)


@contextmanager
def refusing_a_second_run(what: str):
    """A run whose scope is already queued or running: one line naming that run, exit 1."""
    try:
        yield
    except SyncAlreadyRunning as exc:
        raise CommandError(
            f"{what} is already {exc.run.status}: run #{exc.run.pk}", returncode=EXIT_FAILED
        ) from exc


class ProgressBar:
    """A tqdm bar fed by a service's progress callback (done, total, label).

    Created at the first report, once the total is known, so nothing is drawn before that.
    """

    def __init__(self, stream, unit: str, enabled: bool = True):
        self.stream = getattr(stream, "_out", stream)
        self.unit = unit
        self.enabled = enabled
        self.bar = None

    def __call__(self, done: int, total: int, label: str = "") -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(
                total=total or None, unit=self.unit, file=self.stream, dynamic_ncols=True
            )
        if total and self.bar.total != total:
            self.bar.total = total
        if label:
            self.bar.set_description_str(label, refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def summary_line(run: SyncRun) -> str:
    duration = f"{run.duration.total_seconds():.1f} s" if run.duration else "-"
    children = run.chunks.count()
    over = f" over its {children} {run.child_noun}(s)" if children else ""
    line = (
        f"run #{run.pk} {run.get_kind_display()} {run.status} in {duration}: "
        f"{run.items_done}/{run.items_total} items{over} ({run.items_failed} failed), "
        f"fetched {run.rows_fetched}, created {run.rows_created}, updated {run.rows_updated}, "
        f"unchanged {run.rows_unchanged}"
    )
    if run.rows_delisted:
        line += f", delisted {run.rows_delisted}"
    if run.rows_rejected:
        line += f", rejected {run.rows_rejected}"
    if run.warnings:
        line += f", warnings {run.warnings}"
    return line


def finish_command(command, run: SyncRun) -> None:
    """Print the summary; raise CommandError (non-zero exit) unless the run succeeded."""
    command.stdout.write(summary_line(run))
    if run.status == SyncStatus.SUCCEEDED:
        if run.error_summary:  # notes of a good run: rejected bars, nothing to do, ...
            command.stdout.write(f"note: {run.error_summary}")
        return
    reason = run.error_summary.splitlines()[0] if run.error_summary else "see the run in the admin"
    code = EXIT_PARTIAL if run.status == SyncStatus.PARTIAL else EXIT_FAILED
    raise CommandError(f"run #{run.pk} {run.status}: {reason}", returncode=code)


def report_queued(command, run: SyncRun, created: bool) -> None:
    if created:
        command.stdout.write(
            f"queued run #{run.pk} (task {run.task_id}); start `manage.py qcluster` to run it"
        )
    else:
        command.stdout.write(f"run #{run.pk} of the same scope is already {run.status}; joined it")
