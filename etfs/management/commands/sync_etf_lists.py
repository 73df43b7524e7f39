from etfs.models import Exchange, SyncKind
from etfs.sync.lists import ListOptions

from ._runs import SyncCommand


class Command(SyncCommand):
    help = "Fetch the ETF lists of the Shanghai and Shenzhen exchanges into StockInfo."
    kind = SyncKind.ETF_LISTS
    progress_unit = "fund"
    already_running = "a list sync of this scope"

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
