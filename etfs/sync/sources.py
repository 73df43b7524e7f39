"""The configured data sources, built from settings: the one place that knows which exist.

Two forms of configuration, as Django has ``DATABASES``:

- the long form, ``ETFSYNC_SOURCES``: one entry per source, keyed by the name runs and ban
  cooldowns know it by, ``{"eastmoney": {"BACKEND": "<dotted path>", "OPTIONS": {...}}}``;
- the short form, used while ``ETFSYNC_SOURCES`` is empty: ``ETFSYNC_PROVIDERS`` (dotted paths)
  and the flat per-URL settings (``ETFSYNC_EASTMONEY_PUSH2_URL``, ...), each source named by
  its class.

For each capability the sources serve in the order ``ETFSYNC_SOURCE_ORDER`` names for it (the
order of the configuration when it names none). A source in a ban cooldown is passed over
and the next one serves: the cooldown belongs to the source. The services ask here
(``provider_for(DailyBarSource)``) and never import a source module, so adding a source is
one module and one configuration entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

from etfs.providers.base import Provider, ProviderConfigurationError
from etfs.providers.http import HttpConfig

from .cooldown import active_cooldown
from .runs.problems import Problem

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


@dataclass(frozen=True)
class ConfiguredSource:
    """One source as the configuration names it: its name, its class, and how to build it."""

    name: str
    backend: type[Provider]
    options: Mapping[str, Any] | None = None  # None: the short form (flat settings)
    setting: str = "ETFSYNC_PROVIDERS"

    def build(self) -> Provider:
        config = http_config()
        try:
            if self.options is None:
                source = self.backend.from_settings(settings, config)
            else:
                source = self.backend.from_options(self.options, config)
        except ProviderConfigurationError as exc:
            raise ImproperlyConfigured(f"{self.setting}[{self.name!r}]: {exc}") from exc
        source.name = self.name
        return source


@dataclass(frozen=True)
class PassedOver:
    """A source earlier in the order that did not serve, and why (a ban cooldown)."""

    name: str
    reason: str


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


def configured_sources() -> list[ConfiguredSource]:
    """Every configured source, long form if there is one, else short form, in order."""
    if settings.ETFSYNC_SOURCES:
        return list(_long_form(settings.ETFSYNC_SOURCES))
    sources = []
    for path in settings.ETFSYNC_PROVIDERS:
        backend = _backend(path, "ETFSYNC_PROVIDERS")
        sources.append(ConfiguredSource(backend.name or backend.__name__, backend))
    return sources


def _long_form(entries: Mapping[str, Any]) -> Iterator[ConfiguredSource]:
    for name, entry in entries.items():
        where = f"ETFSYNC_SOURCES[{name!r}]"
        if not isinstance(entry, Mapping) or "BACKEND" not in entry:
            raise ImproperlyConfigured(f"{where} must be a dict with a 'BACKEND' dotted path")
        options = entry.get("OPTIONS", {})
        if not isinstance(options, Mapping):
            raise ImproperlyConfigured(f"{where}['OPTIONS'] must be a dict")
        backend = _backend(entry["BACKEND"], where)
        yield ConfiguredSource(str(name), backend, options, setting="ETFSYNC_SOURCES")


def _backend(path: str, where: str) -> type[Provider]:
    try:
        backend = import_string(MOVED_SOURCES.get(path, path))
    except ImportError as exc:
        raise ImproperlyConfigured(f"{where}: cannot import {path!r}: {exc}") from exc
    if not (isinstance(backend, type) and issubclass(backend, Provider)):
        raise ImproperlyConfigured(f"{where}: {path!r} is not a Provider class")
    return backend


def sources_in_order(capability: type[Provider]) -> list[ConfiguredSource]:
    """The configured sources of a capability, in the order ETFSYNC_SOURCE_ORDER gives."""
    serving = [source for source in configured_sources() if issubclass(source.backend, capability)]
    order = settings.ETFSYNC_SOURCE_ORDER.get(capability.capability)
    if order is None:
        return serving
    by_name = {source.name: source for source in serving}
    names = {source.name for source in configured_sources()}
    for name in order:
        if name not in by_name:
            why = "does not provide it" if name in names else "is not a configured source"
            raise ImproperlyConfigured(
                f"ETFSYNC_SOURCE_ORDER[{capability.capability!r}] names {name!r}, which {why}"
            )
    return [by_name[name] for name in order]


def providers_for(capability: type[P]) -> list[P]:
    """Fresh instances (own HTTP sessions) of every configured source of a capability, in order."""
    return [source.build() for source in sources_in_order(capability)]


def provider_for(capability: type[P]) -> P:
    """The first source of a capability that is not in a ban cooldown; the first one when all
    are (the service then sees the cooldown and says so). ``passed_over`` on the source lists
    the sources before it that were skipped, and why (see ``record_passed_over``)."""
    candidates = sources_in_order(capability)
    if not candidates:
        raise ImproperlyConfigured(
            f"no configured source provides {capability.__name__} "
            f"({capability.capability}): {', '.join(_names()) or '(none configured)'}"
        )
    passed_over = []
    chosen = candidates[0]
    if len(candidates) > 1:
        for candidate in candidates:
            cooldown = active_cooldown(candidate.name)
            if cooldown is None:
                chosen = candidate
                break
            until = timezone.localtime(cooldown.until)
            passed_over.append(
                PassedOver(candidate.name, f"in a ban cooldown until {until:%Y-%m-%d %H:%M %Z}")
            )
        else:
            chosen, passed_over = candidates[0], []
    source = chosen.build()
    source.passed_over = passed_over
    return source


def record_passed_over(recorder, source: Provider, what: str) -> None:
    """Say on the run which source served ``what`` in place of the ones passed over."""
    for skipped in getattr(source, "passed_over", ()):
        recorder.record(
            Problem.warning(
                f"{what}: {skipped.name} passed over ({skipped.reason}); {source.name} served"
            )
        )


def _names() -> list[str]:
    return [source.name for source in configured_sources()]
