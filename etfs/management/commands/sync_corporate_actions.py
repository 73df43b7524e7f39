from contextlib import closing

from django.core.management.base import BaseCommand, CommandError

from etfs.models import SyncKind, SyncTrigger
from etfs.sync.calendar import shanghai_now
from etfs.sync.corporate_actions import (
    ActionOptions,
    all_years,
    first_year,
    sync_corporate_actions,
)
from etfs.sync.queue import enqueue_sync

from ._runs import ProgressBar, finish_command, refusing_a_second_run, report_queued

EXIT_USAGE = 2


class Command(BaseCommand):
    help = (
        "Fetch the fund dividend and split lists (ETFs we hold) and the stock dividend, bonus "
        "and rights-issue reports (stocks we hold) into CorporateAction and update the "
        "adjustment factors."
    )

    def add_arguments(self, parser):
        years = parser.add_mutually_exclusive_group()
        years.add_argument(
            "--year",
            action="append",
            type=int,
            dest="years",
            help="A year of ex-dates; repeatable (default: last year and this year).",
        )
        years.add_argument("--all", action="store_true", help="Every year the lists cover.")
        parser.add_argument(
            "--code",
            action="append",
            dest="codes",
            help="Only these securities; repeatable (stocks: all their years at once).",
        )
        parser.add_argument(
            "--cross-check",
            action="store_true",
            help="Then compare with the source's backward-adjusted k-lines (one request a fund).",
        )
        parser.add_argument("--queue", action="store_true", help="Enqueue; print the run id.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, **options):
        today = shanghai_now().date()
        years = tuple(options["years"] or ())
        first = first_year()
        bad = [year for year in years if not first <= year <= today.year]
        if bad:
            raise CommandError(
                f"--year: {bad[0]} is outside {first}..{today.year}", returncode=EXIT_USAGE
            )
        if options["all"]:
            years = all_years(today)
        action_options = ActionOptions(
            years=years, cross_check=options["cross_check"], codes=tuple(options["codes"] or ())
        )
        if options["queue"]:
            run, created = enqueue_sync(
                SyncKind.CORPORATE_ACTIONS, SyncTrigger.COMMAND, action_options.as_parameters()
            )
            report_queued(self, run, created)
            return
        bar = ProgressBar(self.stderr, unit="list", enabled=not options["no_progress"])
        with refusing_a_second_run("a corporate-action sync"), closing(bar):
            run = sync_corporate_actions(action_options, trigger=SyncTrigger.COMMAND, progress=bar)
        finish_command(self, run)
