from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from etfs.sync.liveness import check_workers


class Command(BaseCommand):
    help = (
        "Check from outside the cluster that the qcluster workers make progress: fail runs "
        "whose worker died and queued runs no worker picked up within "
        "ETFSYNC_QUEUED_RUN_PICKUP_SECONDS while nothing moved. Exit 1 when the cluster holds "
        "queued work but makes no progress (a supervisor should restart it; see deploy/)."
    )

    def handle(self, *args, **options):
        try:
            found = check_workers()
        except DatabaseError as exc:
            # Exit 2, not 1: restarting the workers would not bring the database back.
            raise CommandError(f"the database is unreachable: {exc}", returncode=2) from exc
        if found.wedged:
            raise CommandError(found.describe(), returncode=1)
        self.stdout.write(found.describe())
