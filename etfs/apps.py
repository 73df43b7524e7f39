from django.apps import AppConfig
from django.conf import settings

# What Django's own deployment check (security.W009) flags, from the one place Django keeps it.
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate


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
        from etfs.notifications import notify_run_finished
        from etfs.sync.runs import run_finished

        run_finished.connect(notify_run_finished, dispatch_uid="etfs.notify_run_finished")
        # The last app is ready: the collector paused for start-up (manage.py) is back on.
        from etfsync_site.startup import resume_collection

        resume_collection()


def refuse_an_insecure_secret_key() -> None:
    """With DEBUG off, refuse to start on a key Django's deployment check calls weak.

    Every process (web server, commands, qcluster) loads the app, so none of them runs on a
    key with which anyone can forge a session or a messages cookie: the public default, a short
    key, one of few distinct characters (``"a" * 50``) or a development key Django generated.
    """
    if settings.DEBUG:
        return
    flaw = secret_key_flaw(settings.SECRET_KEY)
    if flaw:
        raise InsecureSecretKey(
            f"SECRET_KEY {flaw} while DEBUG is off: set SECRET_KEY to a random string "
            "(./quickstart.sh writes one into .env)"
        )


def secret_key_flaw(key: str) -> str:
    """What makes ``key`` unfit for a server, or "" when nothing does."""
    if key == settings.DEVELOPMENT_SECRET_KEY:
        return "is the public default"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"is shorter than {SECRET_KEY_MIN_LENGTH} characters"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return f"has fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS} distinct characters"
    if key.startswith(SECRET_KEY_INSECURE_PREFIX):
        return f"starts with {SECRET_KEY_INSECURE_PREFIX!r} (a development key)"
    return ""
