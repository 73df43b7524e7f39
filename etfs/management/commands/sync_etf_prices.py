import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from etfs.models import StockInfo, SyncKind, SyncTrigger
from etfs.sync.calendar import shanghai_now
from etfs.sync.prices import PriceOptions, sync_etf_prices
from etfs.sync.queue import enqueue_sync
from etfs.sync.runs import SyncAlreadyRunning
from etfs.sync.validation import (
    ValidationError,
    validate_codes,
    validate_date_range,
    validate_start_year,
)

from ._runs import EXIT_FAILED, ProgressBar, finish_command, report_queued

EXIT_USAGE = 2


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


iso_date.__name__ = "date"


class Command(BaseCommand):
    help = "Fetch daily bars (unadjusted) of the listed ETFs into DailyBar, incrementally."

    def add_arguments(self, parser):
        since = parser.add_mutually_exclusive_group()
        since.add_argument(
            "--start-year", type=int, help="First year for ETFs without bars (default 2020)."
        )
        since.add_argument("--start", type=iso_date, help="Fetch every ETF from this date.")
        since.add_argument("--full", action="store_true", help="Fetch whole histories.")
        parser.add_argument("--end", type=iso_date, help="Last day (default: the last final day).")
        parser.add_argument(
            "--code", action="append", dest="codes", help="Only this ETF code; repeatable."
        )
        parser.add_argument(
            "--from-list",
            action="store_true",
            help="After the close: take the day's bar of funds one day behind from the list "
            "endpoint (a few requests in all) instead of a k-line request each.",
        )
        parser.add_argument("--queue", action="store_true", help="Enqueue; print the run id.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, **options):
        price_options = self.price_options(options)
        if options["queue"]:
            run, created = enqueue_sync(
                SyncKind.ETF_PRICES, SyncTrigger.COMMAND, price_options.as_parameters()
            )
            report_queued(self, run, created)
            return
        bar = ProgressBar(self.stderr, unit="ETF", enabled=not options["no_progress"])
        try:
            run = sync_etf_prices(price_options, trigger=SyncTrigger.COMMAND, progress=bar)
        except SyncAlreadyRunning as exc:
            raise CommandError(
                f"a price sync of this scope is already {exc.run.status}: run #{exc.run.pk}",
                returncode=EXIT_FAILED,
            ) from exc
        finally:
            bar.close()
        finish_command(self, run)

    def price_options(self, options) -> PriceOptions:
        """The same checks as the API's (etfs/sync/validation.py), as usage errors (exit 2)."""
        start, end, codes = options["start"], options["end"], ()
        try:
            if options["start_year"] is not None:
                validate_start_year(options["start_year"], shanghai_now().date())
            validate_date_range(start, end)
            if options["codes"]:
                codes = validate_codes(options["codes"], StockInfo.objects.etf_codes_among)
        except ValidationError as exc:
            option = "--" + exc.field.replace("_", "-").removesuffix("s")
            raise CommandError(f"{option}: {exc.message}", returncode=EXIT_USAGE) from exc
        return PriceOptions(
            codes=codes,
            start=start,
            end=end,
            start_year=options["start_year"],
            full=options["full"],
            from_list=options["from_list"],
        )
