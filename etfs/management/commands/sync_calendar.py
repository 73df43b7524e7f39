from etfs.models import SyncKind

from ._runs import SyncCommand


class Command(SyncCommand):
    help = (
        "Learn the SSE/SZSE trading days from the SSE Composite index's daily k-lines into "
        "TradingDay (the last ETFSYNC_CALENDAR_LOOKBACK_DAYS re-checked, later days learnt)."
    )
    kind = SyncKind.CALENDAR
    already_running = "a calendar sync"
