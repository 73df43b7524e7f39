"""The configured data sources, built from settings: the one place that knows which exist.

``ETFSYNC_PROVIDERS`` lists provider classes by dotted path, in order of preference; the
services ask here for the sources of one capability (``providers_for(DailyBarSource)``) and
never import a source module, so adding a source is adding one module and one setting entry.
"""

from __future__ import annotations

from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from etfs.providers.base import Provider
from etfs.providers.http import HttpConfig

P = TypeVar("P", bound=Provider)

# Where a source lived before its module was split (eastmoney.py became a package, exchanges.py
# became sse.py and szse.py): settings written with the old paths keep working.
MOVED_SOURCES = {
    "etfs.providers.eastmoney_funds.EastmoneyFundsClient": (
        "etfs.providers.eastmoney.EastmoneyFundsClient"
    ),
    "etfs.providers.exchanges.SseFundList": "etfs.providers.sse.SseFundList",
    "etfs.providers.exchanges.SzseFundList": "etfs.providers.szse.SzseFundList",
}


def http_config() -> HttpConfig:
    """Timeouts, retries and the machine-wide rate limit every source shares."""
    return HttpConfig(
        connect_timeout=settings.ETFSYNC_CONNECT_TIMEOUT,
        read_timeout=settings.ETFSYNC_READ_TIMEOUT,
        deadline=settings.ETFSYNC_REQUEST_DEADLINE,
        retries=settings.ETFSYNC_HTTP_RETRIES,
        backoff=settings.ETFSYNC_HTTP_BACKOFF,
        rate_limit=settings.ETFSYNC_RATE_LIMIT,
        rate_limit_dir=settings.ETFSYNC_RATE_LIMIT_DIR,
        user_agent=settings.ETFSYNC_USER_AGENT,
    )


def provider_classes() -> list[type[Provider]]:
    classes = []
    for path in settings.ETFSYNC_PROVIDERS:
        try:
            cls = import_string(MOVED_SOURCES.get(path, path))
        except ImportError as exc:
            raise ImproperlyConfigured(f"ETFSYNC_PROVIDERS: cannot import {path!r}: {exc}") from exc
        if not (isinstance(cls, type) and issubclass(cls, Provider)):
            raise ImproperlyConfigured(f"ETFSYNC_PROVIDERS: {path!r} is not a Provider class")
        classes.append(cls)
    return classes


def providers_for(capability: type[P]) -> list[P]:
    """Fresh instances (own HTTP sessions) of the configured sources that have a capability."""
    config = http_config()
    return [
        cls.from_settings(settings, config)
        for cls in provider_classes()
        if issubclass(cls, capability)
    ]


def provider_for(capability: type[P]) -> P:
    """The preferred configured source of a capability."""
    for cls in provider_classes():
        if issubclass(cls, capability):
            return cls.from_settings(settings, http_config())
    raise ImproperlyConfigured(
        f"no source in ETFSYNC_PROVIDERS provides {capability.__name__}: "
        f"{', '.join(settings.ETFSYNC_PROVIDERS) or '(empty)'}"
    )
