import datetime as dt

from django.core.management.base import CommandError

from etfs.models import SyncKind
from etfs.sync.suspensions import SuspensionOptions, backfill_plan

from ._runs import EXIT_USAGE, SyncCommand


class Command(SyncCommand):
    help = (
        "Read the source's suspension snapshot (today's by default) into Suspension; the gaps "
        "a suspension explains stop counting as missing days."
    )
    kind = SyncKind.SUSPENSIONS
    progress_unit = "day"
    already_running = "a suspension sync"

    def add_job_arguments(self, parser):
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

    def job_options(self, options) -> SuspensionOptions:
        try:
            days = tuple(dt.date.fromisoformat(day) for day in options["days"] or ())
            since = dt.date.fromisoformat(options["since"]) if options["since"] else None
        except ValueError as exc:
            raise CommandError(f"a date is not YYYY-MM-DD: {exc}", returncode=EXIT_USAGE) from exc
        return SuspensionOptions(days=days, backfill=options["backfill"], since=since)

    def before_run(self, job_options, options) -> bool:
        if job_options.backfill and not options["queue"]:
            self.stdout.write(f"backfill: {backfill_plan(job_options)}")
        return False
