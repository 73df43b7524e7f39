from django.core.management.base import BaseCommand

from etfs.schedules import ensure_schedules, remove_retired_schedules


class Command(BaseCommand):
    help = "Create (or correct) the django-q2 schedules of the list and price syncs."

    def handle(self, *args, **options):
        for name in remove_retired_schedules():
            self.stdout.write(f"removed (retired): {name}")
        for name, created in ensure_schedules():
            self.stdout.write(f"{'created' if created else 'up to date'}: {name}")
