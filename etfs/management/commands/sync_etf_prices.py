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
from etfs.sync.price_plan import plan_price_run
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


def known_codes(codes: list[str]) -> tuple[str, ...]:
    return check_known_codes(check_codes(codes), job_for(SyncKind.ETF_PRICES).universe.codes_among)


class Command(SyncCommand):
    help = "Fetch daily bars (unadjusted) of the listed ETFs into DailyBar, incrementally."
    kind = SyncKind.ETF_PRICES
    progress_unit = "ETF"
    already_running = "a price sync of this scope"

    def add_job_arguments(self, parser):
        since = parser.add_mutually_exclusive_group()
        since.add_argument(
            "--start-year", type=int, help="First year for ETFs without bars (default 2020)."
        )
        since.add_argument("--start", metavar="YYYY-MM-DD", help="Fetch every ETF from then.")
        since.add_argument("--full", action="store_true", help="Fetch whole histories.")
        parser.add_argument(
            "--end", metavar="YYYY-MM-DD", help="Last day (default: the last final day)."
        )
        parser.add_argument(
            "--code", action="append", dest="codes", help="Only this ETF code; repeatable."
        )
        parser.add_argument(
            "--from-list",
            action="store_true",
            help="After the close: take the day's bar of funds one day behind from the list "
            "endpoint (a few requests in all) instead of a k-line request each.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the plan (ETFs up to date, behind, without bars; requests and time at "
            "the rate limit) and ask the source nothing.",
        )

    def before_run(self, job_options, options) -> bool:
        if options["dry_run"]:
            for line in plan_price_run(job_options).lines():
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
            codes=usage_checked("--code", known_codes, options["codes"]) or (),
            start=start,
            end=end,
            start_year=start_year,
            full=options["full"],
            from_list=options["from_list"],
        )
