from functools import partial

from django.core.management.base import CommandError

from etfs.limits import (
    check_codes,
    check_date_range,
    check_known_codes,
    check_start_year,
    parse_day,
)
from etfs.models import SyncKind
from etfs.sync.calendar import shanghai_now
from etfs.sync.prices import PriceOptions
from etfs.sync.registry import job_for

from ._runs import EXIT_USAGE, SyncCommand


def usage_checked(option: str, check, value):
    """``check(value)`` (None stays None); its ValueError is a one-line usage error (exit 2)."""
    if value is None:
        return None
    try:
        return check(value)
    except ValueError as exc:
        raise CommandError(f"{option}: {exc}", returncode=EXIT_USAGE) from None


class Command(SyncCommand):
    """The price sync of a job's universe (sync_stock_prices: the stocks')."""

    help = "Fetch daily bars (unadjusted) of the listed ETFs into DailyBar, incrementally."
    kind = SyncKind.ETF_PRICES
    progress_unit = "ETF"
    already_running = "a price sync of this scope"

    @property
    def universe(self):
        return job_for(self.kind).universe

    def add_job_arguments(self, parser):
        universe = self.universe
        since = parser.add_mutually_exclusive_group()
        since.add_argument(
            "--start-year",
            type=int,
            help=f"First year for {universe.name} without bars (default 2020).",
        )
        since.add_argument(
            "--start", metavar="YYYY-MM-DD", help=f"Fetch every {universe.noun} from then."
        )
        since.add_argument("--full", action="store_true", help="Fetch whole histories.")
        parser.add_argument(
            "--end", metavar="YYYY-MM-DD", help="Last day (default: the last final day)."
        )
        parser.add_argument(
            "--code",
            action="append",
            dest="codes",
            help=f"Only this {universe.noun} code; repeatable.",
        )
        parser.add_argument(
            "--from-list",
            action="store_true",
            help="After the close: take the day's bar of those one day behind from the list "
            "endpoint (a few requests in all) instead of a k-line request each.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=f"Print the plan ({universe.name} up to date, behind, without bars; requests "
            "and time at the rate limit) and ask the source nothing.",
        )

    def before_run(self, job_options, options) -> bool:
        if options["dry_run"]:
            for line in job_for(self.kind).plan(job_options).lines():
                self.stdout.write(line)
        return options["dry_run"]

    def job_options(self, options) -> PriceOptions:
        return self.price_options(options)

    def price_options(self, options) -> PriceOptions:
        """The API's limits (etfs.limits), refused as usage errors: exit 2, one line."""
        today = shanghai_now().date()
        start_year = usage_checked(
            "--start-year", partial(check_start_year, today=today), options["start_year"]
        )
        start = usage_checked("--start", partial(parse_day, today=today), options["start"])
        end = usage_checked("--end", partial(parse_day, today=today), options["end"])
        usage_checked("--start", lambda window: check_date_range(*window), (start, end))
        return PriceOptions(
            codes=usage_checked("--code", self.known_codes, options["codes"]) or (),
            start=start,
            end=end,
            start_year=start_year,
            full=options["full"],
            from_list=options["from_list"],
        )

    def known_codes(self, codes: list[str]) -> tuple[str, ...]:
        return check_known_codes(check_codes(codes), self.universe.codes_among)
