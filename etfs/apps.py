from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate

MIN_SECRET_KEY_LENGTH = 50  # what Django's own deployment check asks for


class InsecureSecretKey(ImproperlyConfigured):
    """The server would sign sessions and messages with a key anyone may know or guess."""


def seed_trading_calendar(sender, using="default", **kwargs):
    """Refill an emptied calendar from the shipped file (after ``flush``, as Django refills
    content types), so that the days the file knows are never unknown."""
    from django.db import connections

    from etfs.models import TradingDay
    from etfs.sync.calendar import seed_from_shipped_file

    if TradingDay._meta.db_table in connections[using].introspection.table_names():
        seed_from_shipped_file(using)


class EtfsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "etfs"
    verbose_name = "ETFs"

    def ready(self) -> None:
        refuse_an_insecure_secret_key()
        post_migrate.connect(seed_trading_calendar, sender=self)


def refuse_an_insecure_secret_key() -> None:
    """With DEBUG off, refuse to start on the public default key or a short one.

    Every process (web server, commands, qcluster) loads the app, so none of them runs on a
    key with which anyone can forge a session or a messages cookie.
    """
    key = settings.SECRET_KEY
    if settings.DEBUG:
        return
    if key == settings.DEVELOPMENT_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
        raise InsecureSecretKey(
            "SECRET_KEY is the public default or shorter than "
            f"{MIN_SECRET_KEY_LENGTH} characters while DEBUG is off: set SECRET_KEY to a "
            "random string (./quickstart.sh writes one into .env)"
        )
