from django.core.management.base import BaseCommand

from etfs.models import SyncKind, SyncTrigger
from etfs.sync.calendar_sync import sync_calendar
from etfs.sync.queue import enqueue_sync

from ._runs import finish_command, refusing_a_second_run, report_queued


class Command(BaseCommand):
    help = (
        "Learn the SSE/SZSE trading days from the SSE Composite index's daily k-lines into "
        "TradingDay (the last ETFSYNC_CALENDAR_LOOKBACK_DAYS re-checked, later days learnt)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue", action="store_true", help="Enqueue for a qcluster and print the run id."
        )

    def handle(self, *args, **options):
        if options["queue"]:
            run, created = enqueue_sync(SyncKind.CALENDAR, SyncTrigger.COMMAND, {})
            report_queued(self, run, created)
            return
        with refusing_a_second_run("a calendar sync"):
            run = sync_calendar(trigger=SyncTrigger.COMMAND)
        finish_command(self, run)
