from etfs.models import SyncKind

from .sync_etf_lists import Command as ListCommand


class Command(ListCommand):
    """The list sync of the stocks: the fund list command's arguments and options."""

    help = (
        "Fetch the A-share lists of the Shanghai and Shenzhen exchanges (main boards, STAR, "
        "ChiNext; ST flags; delisted stocks) into StockInfo."
    )
    kind = SyncKind.STOCK_LISTS
    progress_unit = "stock"
    already_running = "a stock list sync of this scope"
