from django.core.management.base import CommandError

from etfs.models import SyncKind
from etfs.sync.calendar import shanghai_now
from etfs.sync.corporate_actions import ActionOptions, all_years, first_year

from ._runs import EXIT_USAGE, SyncCommand


class Command(SyncCommand):
    help = (
        "Fetch the fund dividend and split lists (ETFs we hold) and the stock dividend, bonus "
        "and rights-issue reports (stocks we hold) into CorporateAction and update the "
        "adjustment factors."
    )
    kind = SyncKind.CORPORATE_ACTIONS
    progress_unit = "list"
    already_running = "a corporate-action sync"

    def add_job_arguments(self, parser):
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

    def job_options(self, options) -> ActionOptions:
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
        return ActionOptions(
            years=years, cross_check=options["cross_check"], codes=tuple(options["codes"] or ())
        )
