from contextlib import closing

from etfs.models import Exchange, SyncTrigger
from etfs.sync.stock_lists import sync_stock_lists

from ._runs import ProgressBar, SyncCommand, finish_command, refusing_a_second_run


class Command(SyncCommand):
    help = (
        "Fetch the A-share lists of the Shanghai and Shenzhen exchanges (main board, STAR, "
        "ChiNext; ST flags; delisted stocks) into StockInfo."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--exchange",
            action="append",
            type=str.upper,
            choices=Exchange.values,
            help="XSHG or XSHE; repeat for both (default: both).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, **options):
        exchanges = sorted(set(options["exchange"] or Exchange.values))
        bar = ProgressBar(self.stderr, unit="stock", enabled=not options["no_progress"])
        with refusing_a_second_run("a stock list sync of this scope"), closing(bar):
            run = sync_stock_lists(exchanges=exchanges, trigger=SyncTrigger.COMMAND, progress=bar)
        finish_command(self, run)
