"""What the fund and stock list syncs share: reading the primary list (paused by a ban
cooldown, kept when the run stops between its pages), the exchanges' own lists, the
differences between them, and when a whole list may mark securities delisted.

A run stopped between pages (cancelled, or a ban) still stores what its primary list had
paged, reads no list after the stop, and marks nothing delisted.

A primary list cut short is stored as a list that failed midway is: its rows are written, and
no security is marked delisted for missing from it (it misses the unread pages). An exchange's
own list cut short is left out: its unread pages would read as securities missing from it
(``on_exchange_list`` false); the lists read whole before the stop are used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings

from etfs.providers.base import ListFetch, PagingStopped, ProviderBlocked

from .cooldown import active_cooldown, describe, start_cooldown
from .runs import LIST_DIFFERENCE, Problem, RunRecorder, RunStopped

SHOWN_CODES = 50


def fetch_primary(
    recorder: RunRecorder, source, fetch: Callable[..., ListFetch], progress, label: str
) -> tuple[ListFetch | None, str]:
    """``fetch``, the primary list of ``source``, with progress (``label`` and the page); None
    and why when the source is in a ban cooldown (recorded). A ban it meets starts one; a stop
    between its pages keeps what was fetched (``stopped`` set) when the source keeps it."""
    cooldown = active_cooldown(source.name)
    if cooldown is not None:
        recorder.record(Problem(describe(cooldown)))
        return None, f"not started: {describe(cooldown)}"

    def on_page(page: int, covered: int, total: int) -> None:
        recorder.stop_between_pages()
        if progress:
            progress(covered, total, f"{label} {page}")

    try:
        fetched = fetch(on_page=on_page)
    except PagingStopped as stop:
        if stop.fetched is None:  # a source that does not keep its pages
            raise
        fetched = stop.fetched
    if isinstance(fetched.error, ProviderBlocked):
        start_cooldown(source.name, str(fetched.error))
    return fetched, ""


def shortfall(fetched: ListFetch, noun: str) -> str:
    """Why a primary list that raised no error is not whole ("" when it is): a stop between
    its pages, or fewer rows than it reported."""
    if fetched.stopped:
        return f"the list was stopped after {fetched.pages} page(s): the rows they held are written"
    if not fetched.complete:
        return (
            f"the source reported {fetched.reported_total} {noun} but paging returned "
            f"{len(fetched.listings)}"
        )
    return ""


def read_until_stopped(recorder: RunRecorder, read, sources: Iterable, exchanges) -> dict:
    """``read(recorder, source)`` of each exchange's own list, by exchange, while the run goes
    on: none is asked once it stops, and the one the stop cut short is left out."""
    lists = {}
    for source in sources:
        if source.exchange not in exchanges:
            continue
        if recorder.stopped:
            break
        try:
            lists[source.exchange] = read(recorder, source)
        except RunStopped:
            break
    return lists


def delisting_held_back(exchange: str, listed: int, listed_before: int, noun: str) -> str:
    """Why a whole primary list marks nothing delisted on ``exchange`` ("" when it may): it
    lists nothing, or far fewer than were listed before (ETFSYNC_LIST_SHRINK_GUARD)."""
    if not listed:
        return f"{exchange}: the source listed no {noun}; nothing marked delisted"
    guard = settings.ETFSYNC_LIST_SHRINK_GUARD
    if listed < listed_before * guard:
        return (
            f"{exchange}: the new list has {listed} {noun} against {listed_before} listed "
            f"before (below {guard:.0%}); nothing marked delisted"
        )
    return ""


def record_differences(
    recorder: RunRecorder, primary: tuple[str, set[str], set[str]], own: tuple[str, set[str]]
) -> None:
    """Warn of the codes only one of two whole lists names: ``primary`` as (its source, its
    codes, the codes of its rejected rows, which it does name), ``own`` as (the exchange's
    source, its codes). Marked by their code (a problem code, not a security's) and holding
    every code in the detail, so that the front page reads them from stored fields."""
    (primary_name, primary_codes, rejected), (own_name, exchange_codes) = primary, own
    only_exchange = exchange_codes - primary_codes - rejected
    only_primary = primary_codes - exchange_codes
    label, primary_label = own_name.upper(), primary_name.capitalize()
    differences = []
    if only_exchange:
        message = f"on the {label} list, not on {primary_label}'s: {shown(only_exchange)}"
        differences.append((message, only_exchange))
    if only_primary:
        message = f"on {primary_label}'s list, not on the {label} list: {shown(only_primary)}"
        differences.append((message, only_primary))
    recorder.record(
        *(
            Problem.warning(message, code=LIST_DIFFERENCE, detail=" ".join(sorted(codes)))
            for message, codes in differences
        )
    )


def shown(codes: set[str]) -> str:
    """The codes in order, the first SHOWN_CODES of them and how many more."""
    ordered = sorted(codes)
    more = len(ordered) - SHOWN_CODES
    return ", ".join(ordered[:SHOWN_CODES]) + (f" and {more} more" if more > 0 else "")


def ended_as_stopped(recorder: RunRecorder, summary: str) -> tuple[str, str]:
    """The end of a list run that stopped while reading: as the recorder says (cancelled, or
    stopped by a ban), followed by what the run did with what it had read."""
    status, reason = recorder.stopped_outcome()
    return status, f"{reason}; {summary}" if summary else reason
