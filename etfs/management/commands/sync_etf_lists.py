from django.core.management.base import CommandError

from etfs.models import Exchange, SyncKind, SyncTrigger
from etfs.sync.lists import sync_etf_lists
from etfs.sync.queue import enqueue_sync
from etfs.sync.runs import SyncAlreadyRunning

from ._runs import EXIT_FAILED, ProgressBar, SyncCommand, finish_command, report_queued


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
        try:
            run = sync_etf_lists(exchanges=exchanges, trigger=SyncTrigger.COMMAND, progress=bar)
        except SyncAlreadyRunning as exc:
            raise CommandError(
                f"a list sync of this scope is already {exc.run.status}: run #{exc.run.pk}",
                returncode=EXIT_FAILED,
            ) from exc
        finally:
            bar.close()
        finish_command(self, run)
