"""The guard every paged source keeps while it pages.

Sources have ignored the page asked for and sent their first page again, while claiming
hundreds of pages (issue 23: a fund list paged ``tab1`` and read page 1 of ``tab2`` twenty
times; a list that claimed 500 pages would have cost 500 requests). So a page that repeats the
previous one is a paging fault, said as a ProviderDataError, never a list of duplicates; and a
page that brings nothing new ends the paging, whatever page count the source claims.
"""

from __future__ import annotations

import json

from .records import ProviderDataError


class PageGuard:
    """Feed it each page's rows in order; it returns the rows not seen before, raises on a
    repeated page, and says when paging should stop (``exhausted``)."""

    def __init__(self, where: str):
        self.where = where
        self.page = 0
        self.previous: list[str] | None = None
        self.seen: set[str] = set()
        self.exhausted = False

    def fresh(self, rows: list) -> list:
        self.page += 1
        keys = [_row_key(row) for row in rows]
        if keys and keys == self.previous:
            raise ProviderDataError(
                f"{self.where}: page {self.page} repeats page {self.page - 1}: a paging fault "
                "(the source ignores the page asked for), not a list of duplicates"
            )
        new = [row for row, key in zip(rows, keys, strict=True) if key not in self.seen]
        self.seen.update(keys)
        self.previous = keys
        # A page without rows, or with none that came before, ends the paging.
        self.exhausted = not new
        return new


def _row_key(row: object) -> str:
    try:
        return json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # a number too long to show, keys of mixed types
        return f"{type(row).__name__}:{id(row)}"
