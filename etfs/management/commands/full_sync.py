from etfs.models import SyncKind
from etfs.sync.full_sync.service import FullSyncOptions

from ._runs import SyncCommand


class Command(SyncCommand):
    help = (
        "Run the trading calendar, the ETF and stock lists, the ETF and stock prices and the "
        "corporate actions in order, as one run with a child run per step (--daily: the "
        "after-close update: the calendar and the day's bars of both from the lists)."
    )
    kind = SyncKind.FULL_SYNC
    already_running = "a full sync of this scope"

    def add_job_arguments(self, parser):
        parser.add_argument(
            "--daily",
            action="store_true",
            help="The after-close update: calendar, then ETF and stock prices from the lists.",
        )

    def job_options(self, options) -> FullSyncOptions:
        return FullSyncOptions(daily=options["daily"])
