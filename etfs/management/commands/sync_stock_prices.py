from etfs.models import SyncKind

from .sync_etf_prices import Command as PriceCommand


class Command(PriceCommand):
    help = (
        "Fetch daily bars (unadjusted) of the listed A-share stocks (and of delisted ones up to "
        "their delisting) into DailyBar, incrementally."
    )
    kind = SyncKind.STOCK_PRICES
    progress_unit = "stock"
