from etfs.models import Exchange, SyncKind
from etfs.sync.lists import ListOptions

from ._runs import SyncCommand


class Command(SyncCommand):
    help = (
        "Fetch the A-share lists of the Shanghai and Shenzhen exchanges (main boards, STAR, "
        "ChiNext; ST flags; delisted stocks) into StockInfo."
    )
    kind = SyncKind.STOCK_LISTS
    progress_unit = "stock"
    already_running = "a stock list sync of this scope"

    def add_job_arguments(self, parser):
        parser.add_argument(
            "--exchange",
            action="append",
            type=str.upper,
            choices=Exchange.values,
            help="XSHG or XSHE; repeat for both (default: both).",
        )

    def job_options(self, options) -> ListOptions:
        return ListOptions(tuple(sorted(set(options["exchange"] or Exchange.values))))
