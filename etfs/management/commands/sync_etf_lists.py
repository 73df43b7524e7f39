from contextlib import closing

from etfs.models import Exchange, SyncKind, SyncTrigger
from etfs.sync.lists import sync_etf_lists
from etfs.sync.queue import enqueue_sync

from ._runs import (
    ProgressBar,
    SyncCommand,
    finish_command,
    refusing_a_second_run,
    report_queued,
)


class Command(SyncCommand):
    help = "Fetch the ETF lists of the Shanghai and Shenzhen exchanges into StockInfo."

    def add_arguments(self, parser):
        parser.add_argument(
            "--exchange",
            action="append",
            type=str.upper,
            choices=Exchange.values,
            help="XSHG or XSHE; repeat for both (default: both).",
        )
        parser.add_argument(
            "--queue", action="store_true", help="Enqueue for a qcluster and print the run id."
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, **options):
        exchanges = sorted(set(options["exchange"] or Exchange.values))
        if options["queue"]:
            run, created = enqueue_sync(
                SyncKind.ETF_LISTS, SyncTrigger.COMMAND, {"exchanges": exchanges}
            )
            report_queued(self, run, created)
            return
        bar = ProgressBar(self.stderr, unit="fund", enabled=not options["no_progress"])
        with refusing_a_second_run("a list sync of this scope"), closing(bar):
            run = sync_etf_lists(exchanges=exchanges, trigger=SyncTrigger.COMMAND, progress=bar)
        finish_command(self, run)
