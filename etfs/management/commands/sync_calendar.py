from django.core.management.base import BaseCommand, CommandError

from etfs.models import SyncKind, SyncTrigger
from etfs.sync.calendar_sync import sync_calendar
from etfs.sync.queue import enqueue_sync
from etfs.sync.runs import SyncAlreadyRunning

from ._runs import EXIT_FAILED, finish_command, report_queued


class Command(BaseCommand):
    help = (
        "Learn the SSE/SZSE trading days from the SSE Composite index's daily k-lines into "
        "TradingDay (incremental, from the newest known trading day minus a look-back)."
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
        try:
            run = sync_calendar(trigger=SyncTrigger.COMMAND)
        except SyncAlreadyRunning as exc:
            raise CommandError(
                f"a calendar sync is already {exc.run.status}: run #{exc.run.pk}",
                returncode=EXIT_FAILED,
            ) from exc
        finish_command(self, run)
