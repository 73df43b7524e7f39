from django.core.management.base import BaseCommand

from etfs.models import DailyBar, StockInfo
from etfs.sync.calendar import newest_known_final_day
from etfs.sync.freshness import analyze, refresh_bar_summary, refresh_days_behind

BATCH = 500  # securities per transaction: each locks its rows only for a moment


class Command(BaseCommand):
    help = (
        "Recount every security's bar count, first and last bar, missing days and days behind "
        "from the bars. The syncs keep these up to date; run this after writing bars any other "
        "way (SQL, an import). Refreshes the planner's statistics of both tables."
    )

    def handle(self, *args, **options):
        ids = list(StockInfo.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), BATCH):
            refresh_bar_summary(ids[start : start + BATCH])
        final_day = newest_known_final_day()
        if final_day is not None:
            refresh_days_behind(final_day)
        # Bars written around the syncs and the summaries just rewritten: fresh statistics.
        analyze(DailyBar, StockInfo)
        what = "1 security" if len(ids) == 1 else f"{len(ids)} securities"
        self.stdout.write(f"recounted the bars of {what} (final day {final_day})")
