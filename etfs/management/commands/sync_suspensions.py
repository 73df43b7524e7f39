import datetime as dt
from contextlib import closing

from django.core.management.base import BaseCommand, CommandError

from etfs.models import SyncKind, SyncTrigger
from etfs.sync.queue import enqueue_sync
from etfs.sync.suspensions import SuspensionOptions, backfill_plan, sync_suspensions

from ._runs import ProgressBar, finish_command, refusing_a_second_run, report_queued

EXIT_USAGE = 2


class Command(BaseCommand):
    help = (
        "Read the source's suspension snapshot (today's by default) into Suspension; the gaps "
        "a suspension explains stop counting as missing days."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            action="append",
            dest="days",
            help="A day's snapshot, YYYY-MM-DD; repeatable.",
        )
        parser.add_argument(
            "--backfill",
            action="store_true",
            help="Read the trading days that hold an unexplained gap (one request a day).",
        )
        parser.add_argument("--since", help="With --backfill: only days from this one on.")
        parser.add_argument("--queue", action="store_true", help="Enqueue; print the run id.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, **options):
        try:
            days = tuple(dt.date.fromisoformat(day) for day in options["days"] or ())
            since = dt.date.fromisoformat(options["since"]) if options["since"] else None
        except ValueError as exc:
            raise CommandError(f"a date is not YYYY-MM-DD: {exc}", returncode=EXIT_USAGE) from exc
        chosen = SuspensionOptions(days=days, backfill=options["backfill"], since=since)
        if options["queue"]:
            run, created = enqueue_sync(
                SyncKind.SUSPENSIONS, SyncTrigger.COMMAND, chosen.as_parameters()
            )
            report_queued(self, run, created)
            return
        if chosen.backfill:
            self.stdout.write(f"backfill: {backfill_plan(chosen)}")
        bar = ProgressBar(self.stderr, unit="day", enabled=not options["no_progress"])
        with refusing_a_second_run("a suspension sync"), closing(bar):
            run = sync_suspensions(chosen, trigger=SyncTrigger.COMMAND, progress=bar)
        finish_command(self, run)
