"""CSV exports of bars and securities, produced row by row so any size streams in flat memory.

Why a generator and StreamingHttpResponse rather than django-import-export: that package builds
a tablib Dataset of every row in memory before writing it (2 million bars would take gigabytes
and minutes before the first byte), and its import half would be a way to edit synced data by
hand. Here PostgreSQL writes the stored bars' CSV itself (``COPY … TO STDOUT``) and the blocks
are sent as they arrive; other rows come through a server-side cursor (``iterator()``) in
chunks and are written one by one. Memory stays the same for a hundred bars or two million.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.db import connection, transaction

from etfs.models import DailyBar, StockInfo

# Excel reads a UTF-8 file as UTF-8 (Chinese names intact) only with this mark first.
BYTE_ORDER_MARK = "\ufeff"
ROWS_PER_FETCH = 5000
BAR_COLUMNS = ("code", "exchange", "trade_date", "open", "high", "low", "close", "volume", "amount")
SECURITY_COLUMNS = (
    "code",
    "exchange",
    "name",
    "is_etf",
    "category",
    "list_date",
    "status",
    "first_seen_at",
    "last_seen_at",
    "delisted_at",
)
SECURITY_SUMMARY_COLUMNS = ("bar_count", "first_bar_date", "last_bar_date")

# A text cell starting with one of these is read as a formula by Excel and LibreOffice (CSV
# injection): OWASP's list (https://owasp.org/www-community/attacks/CSV_Injection). Such a cell
# gets a leading apostrophe, which the spreadsheet shows as text. Only text is escaped: numbers,
# dates and decimals are written as values, so a negative number stays a number. The stored-bar
# CSV written by PostgreSQL has no free text (codes are six digits, exchanges a choice).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like object whose write() returns the line, for csv.writer without a buffer."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield BYTE_ORDER_MARK + writer.writerow(header)
    for row in rows:
        yield writer.writerow([spreadsheet_safe(value) for value in row])


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, escaped as OWASP advises."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def bar_csv(securities, start=None, end=None, adjust: str = "none") -> Iterator[str | bytes]:
    """The bars as CSV lines, header first.

    Stored (unadjusted) bars on PostgreSQL come straight out of ``COPY … TO STDOUT`` in the
    server's own CSV: no Python object per row, about fifty times the rows per second of the
    row-by-row writer, memory as flat. Adjusted bars, and SQLite, go row by row.
    """
    if adjust == "none" and connection.vendor == "postgresql":
        yield BYTE_ORDER_MARK + ",".join(BAR_COLUMNS) + "\r\n"
        yield from _copied_csv(_stored_bars(securities, start, end))
        return
    yield from csv_lines(BAR_COLUMNS, bar_rows(securities, start, end, adjust))


def _copied_csv(queryset) -> Iterator[bytes]:
    """The rows of a values_list queryset as CSV blocks from PostgreSQL's COPY.

    COPY takes no parameters, so they are bound client-side by psycopg (``compose_sql``). A
    download stopped half-way closes this generator: psycopg cancels the COPY, and the atomic
    block (a savepoint inside a surrounding transaction) rolls the cancel back so the
    connection stays usable.
    """
    sql, params = queryset.query.sql_with_params()
    query = f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT (FORMAT csv)"
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(query) as copy:
        for block in copy:
            yield bytes(block).replace(b"\n", b"\r\n")


def _stored_bars(securities, start=None, end=None):
    bars = DailyBar.objects.filter(security__in=securities)
    if start:
        bars = bars.filter(trade_date__gte=start)
    if end:
        bars = bars.filter(trade_date__lte=end)
    columns = ("security__code", "security__exchange", *BAR_COLUMNS[2:])
    return bars.order_by("security_id", "trade_date").values_list(*columns)


def bar_rows(securities, start=None, end=None, adjust: str = "none") -> Iterator[tuple]:
    """Bars of ``securities`` by security and date, fetched in chunks; adjusted on request.

    Adjusted prices are computed by the database as it reads (``DailyBar.objects.adjusted``),
    so they stream like the stored ones.
    """
    if adjust == "none":
        return _stored_bars(securities, start, end).iterator(chunk_size=ROWS_PER_FETCH)
    bars = DailyBar.objects.filter(security__in=securities)
    if start:
        bars = bars.filter(trade_date__gte=start)
    if end:
        bars = bars.filter(trade_date__lte=end)
    ordered = bars.order_by("security_id", "trade_date")
    names = dict(
        (pk, (code, exchange))
        for pk, code, exchange in StockInfo.objects.filter(pk__in=securities.values("pk"))
        .values_list("pk", "code", "exchange")
        .iterator()
    )
    rows = ordered.adjusted(adjust).iterator(chunk_size=ROWS_PER_FETCH)
    return (
        (*names[row["security_id"]], *(row[column] for column in BAR_COLUMNS[2:])) for row in rows
    )


def security_rows(securities) -> Iterator[tuple]:
    """The given securities (a filtered list), with their bar summary (stored columns)."""
    columns = SECURITY_COLUMNS + SECURITY_SUMMARY_COLUMNS
    return securities.values_list(*columns).iterator(chunk_size=ROWS_PER_FETCH)


def securities_with_codes(codes: Iterable[str]):
    return StockInfo.objects.filter(code__in=list(codes)).order_by("code", "exchange")
