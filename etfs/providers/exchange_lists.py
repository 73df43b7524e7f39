"""What the SSE's and the SZSE's own fund lists share: cells as text, listing dates, and the
collecting of profiles where a bad row is a problem of its own.

Wire formats: shared/providers.md section 7. The sources themselves are ``sse`` and ``szse``.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable

from .base import FundProfile, ProfileFetch, ProviderDataError, RowProblem
from .records import source_row

# Far more pages than either list has (about 900 and 750 funds): a source that keeps sending
# "one more page" is stopped here instead of paging forever.
MAX_PAGES = 60
TAGS = re.compile(r"<[^>]*>")


def text_cell(value: object) -> str:
    """A cell as trimmed text; "" for None and for what has no text (an integer of thousands of
    digits, which the parser that reads the cell then refuses as empty)."""
    if value is None:
        return ""
    try:
        return str(value).strip()
    except ValueError:
        return ""


def int_cell(value: object, *, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def strip_cell(value: object) -> str:
    """A cell as text: HTML tags out (SZSE's cells hold anchors), entities decoded, trimmed."""
    return html.unescape(TAGS.sub("", text_cell(value))).strip()


def parse_listing_date(value: object, where: str) -> dt.date | None:
    """``20120528`` or ``2012-05-28`` (both are seen); empty means not given."""
    text = text_cell(value)
    if not text:
        return None
    for layout in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise ProviderDataError(f"{where}: listing date {text!r} is neither YYYYMMDD nor YYYY-MM-DD")


def collect_profiles(
    result: ProfileFetch, rows: list, parse: Callable[[object], FundProfile], code_key: str
) -> None:
    """Parse rows into the result; a bad row is a problem of its own, the rest are kept."""
    for row in rows:
        try:
            result.profiles.append(parse(row))
        except ProviderDataError as exc:
            code = strip_cell(row.get(code_key)) if isinstance(row, dict) else ""
            result.problems.append(RowProblem(str(exc), code=code, row=source_row(row)))
