import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin user if there is no superuser yet (prints the password once)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("an admin user exists already; nothing to do")
            return
        password = settings.ETFSYNC_ADMIN_PASSWORD or secrets.token_urlsafe(12)
        User.objects.create_superuser(options["username"], email="", password=password)
        shown = "(from ETFSYNC_ADMIN_PASSWORD)" if settings.ETFSYNC_ADMIN_PASSWORD else password
        self.stdout.write(
            self.style.SUCCESS(f"created admin user {options['username']!r}, password: {shown}")
        )
