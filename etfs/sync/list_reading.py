"""What the fund and stock list syncs share while they read their lists: a run stopped between
pages (cancelled, or a ban) still stores what its primary list had paged, reads no list after
the stop, and marks nothing delisted.

A primary list cut short is stored as a list that failed midway is: its rows are written, and
no security is marked delisted for missing from it (it misses the unread pages). An exchange's
own list cut short is left out: its unread pages would read as securities missing from it
(``on_exchange_list`` false); the lists read whole before the stop are used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from etfs.providers.base import ListFetch, PagingStopped

from .runs import RunRecorder, RunStopped


def fetch_keeping_pages(fetch: Callable[..., ListFetch], on_page) -> ListFetch:
    """``fetch(on_page=on_page)``; when ``on_page`` stops the paging, what the source had
    fetched by then (``stopped`` set) instead of nothing."""
    try:
        return fetch(on_page=on_page)
    except PagingStopped as stop:
        if stop.fetched is None:  # a source that does not keep its pages
            raise
        return stop.fetched


def stopped_paging(fetched: ListFetch) -> str:
    """What a primary list stopped between its pages says on the run."""
    return f"the list was stopped after {fetched.pages} page(s): the rows they held are written"


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


def ended_as_stopped(recorder: RunRecorder, summary: str) -> tuple[str, str]:
    """The end of a list run that stopped while reading: as the recorder says (cancelled, or
    stopped by a ban), followed by what the run did with what it had read."""
    status, reason = recorder.stopped_outcome()
    return status, f"{reason}; {summary}" if summary else reason
