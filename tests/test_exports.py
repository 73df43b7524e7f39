"""CSV exports: bars of chosen ETFs over a range and the filtered security list, streamed."""

import csv
import io
import tracemalloc
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.urls import reverse

from etfs.exports import csv_lines
from tests.factories import make_bars, make_security, make_staff_user

pytestmark = pytest.mark.django_db

EXPORT = "admin:etfs_dailybar_export"


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def test_bars_of_chosen_etfs_and_dates_come_as_csv(client, superuser):
    hs300 = make_security("510300", name="沪深300ETF")
    chinext = make_security("159915", "XSHE", name="创业板ETF")
    make_bars(hs300, 10)
    make_bars(chinext, 10)
    make_bars(make_security("510500"), 10)

    response = client.get(
        reverse(EXPORT),
        {"codes": "510300, 159915", "start": "2024-01-03", "end": "2024-01-05", "download": "csv"},
    )

    rows = rows_of(response)
    assert response["Content-Disposition"] == (
        'attachment; filename="bars-159915-510300-2024-01-03-2024-01-05.csv"'
    )
    assert rows[0] == [
        "code", "exchange", "trade_date", "open", "high", "low", "close", "volume", "amount"
    ]  # fmt: skip
    assert rows[1:] == [
        [code, exchange, f"2024-01-0{day}", "1.0000", "1.1000", "0.9000", "1.0500", "100000",
         "100000.000"]
        for code, exchange in (("510300", "XSHG"), ("159915", "XSHE"))
        for day in (3, 4, 5)
    ]  # fmt: skip


def test_the_form_refuses_unknown_codes_and_shows_what_was_wrong(client, superuser):
    make_security("510300")

    malformed = client.get(reverse(EXPORT), {"codes": "510300 ５１０３００ 12x", "download": "csv"})
    unknown = client.get(reverse(EXPORT), {"codes": "510300 999999", "download": "csv"})

    assert not isinstance(malformed, StreamingHttpResponse)
    assert "&#x27;５１０３００&#x27;, &#x27;12x&#x27;: a code is six ASCII digits" in (
        malformed.content.decode()
    )
    assert "unknown code(s): &#x27;999999&#x27;" in unknown.content.decode()


def test_the_etf_page_links_to_its_own_bars(client, superuser):
    security = make_security("510300")
    make_bars(security, 3)
    make_bars(make_security("510500"), 3)
    page = client.get(reverse("admin:etfs_stockinfo_change", args=[security.pk]))

    link = page.context["export_url"] + "&download=csv"
    rows = rows_of(client.get(link))

    assert [row[0] for row in rows[1:]] == ["510300"] * 3


def test_the_selected_etfs_action_opens_the_form_with_their_codes(client, superuser):
    chosen = [make_security("510300"), make_security("159915", "XSHE")]
    make_security("510500")

    response = client.post(
        reverse("admin:etfs_stockinfo_changelist"),
        {"action": "export_bars_of_selected", "_selected_action": [s.pk for s in chosen]},
    )

    assert response.status_code == 302
    form = client.get(response.url).context["form"]
    assert form["codes"].value() == "159915 510300"


def test_the_security_list_exports_as_filtered(client, superuser):
    make_security("510300", name="沪深300ETF")
    make_security("159915", "XSHE", name="创业板ETF")
    make_bars(make_security("510500", name="中证500ETF"), 4)

    everything = rows_of(client.get(reverse("admin:etfs_stockinfo_export")))
    shenzhen = rows_of(
        client.get(reverse("admin:etfs_stockinfo_export"), {"exchange__exact": "XSHE"})
    )

    assert [row[0] for row in everything[1:]] == ["159915", "510300", "510500"]
    assert everything[3][2] == "中证500ETF" and everything[3][-3:] == [
        "4",
        "2024-01-02",
        "2024-01-05",
    ]
    assert [row[0] for row in shenzhen[1:]] == ["159915"]


def test_viewers_without_the_bar_permission_cannot_export(client):
    client.force_login(make_staff_user("viewer", "etfs.view_stockinfo"))

    assert client.get(reverse(EXPORT), {"codes": "510300", "download": "csv"}).status_code == 403


def insert_bars(count: int, first_code: int) -> None:
    """``count`` bars over 100 securities, written by the database itself (fast)."""
    securities = [make_security(f"{first_code + n:06d}").pk for n in range(100)]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO etfs_dailybar (security_id, trade_date, open, high, low, close, volume,
                                       amount)
            SELECT s.id, DATE '2000-01-01' + d, 1.0, 1.1, 0.9, 1.05, 100000, 100000.0
            FROM unnest(%s::bigint[]) AS s(id), generate_series(0, %s - 1) AS d
            """,
            [securities, count // 100],
        )


def streamed_peak(client, count: int) -> tuple[int, int]:
    """(rows, peak traced bytes) while streaming every bar of the database as CSV."""
    response = client.get(reverse(EXPORT), {"all_etfs": "on", "download": "csv"})
    tracemalloc.start()
    rows = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return rows, peak


def test_memory_stays_flat_whatever_the_number_of_bars(client, superuser):
    """Four times the bars, about the same memory: rows are streamed, not gathered."""
    insert_bars(20_000, first_code=520000)
    small_rows, small_peak = streamed_peak(client, 20_000)
    insert_bars(80_000, first_code=530000)  # 100 more securities, 800 days each
    large_rows, large_peak = streamed_peak(client, 100_000)

    assert (small_rows, large_rows) == (20_001, 100_001)
    # Holding 100,000 rows would take tens of megabytes; streaming stays near one fetch.
    assert large_peak < 2 * small_peak, (small_peak, large_peak)


def test_adjusted_bars_export_with_the_factors_applied(client, superuser):
    from etfs.sync.factors import recompute_factors
    from tests.adjustment.history import SPLIT_BARS, SPLIT_DAY, SPLIT_QFQ, add_event, add_fund

    fund = add_fund("513500", "XSHG", SPLIT_BARS)
    add_event(fund, SPLIT_DAY, "split", ratio="2")
    recompute_factors([fund.pk])

    rows = rows_of(
        client.get(reverse(EXPORT), {"codes": "513500", "adjust": "qfq", "download": "csv"})
    )

    assert [row[2] for row in rows[1:]] == [str(day) for day in sorted(SPLIT_QFQ)]
    assert {row[2]: tuple(row[3:8]) for row in rows[1:]} == {
        str(day): values for day, values in SPLIT_QFQ.items()
    }


def test_the_database_writes_the_same_csv_as_the_row_by_row_writer(db):
    from etfs.exports import BAR_COLUMNS, bar_csv, bar_rows, csv_lines
    from etfs.models import StockInfo

    make_bars(make_security("510300", name="沪深300ETF"), 30)
    make_bars(make_security("159915", "XSHE"), 30)
    securities = StockInfo.objects.all()

    copied = b"".join(
        part if isinstance(part, bytes) else part.encode() for part in bar_csv(securities)
    )
    written = "".join(csv_lines(BAR_COLUMNS, bar_rows(securities))).encode()

    assert copied.count(b"\r\n") == 61
    assert copied == written


def test_a_download_stopped_half_way_leaves_the_connection_usable(db):
    from etfs.exports import bar_csv
    from etfs.models import StockInfo

    insert_bars(20_000, first_code=520000)
    lines = bar_csv(StockInfo.objects.all())
    next(lines), next(lines)  # the header and the first block of the COPY

    lines.close()

    assert StockInfo.objects.count() == 100


FORMULAS = ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def test_text_a_spreadsheet_would_run_as_a_formula_is_escaped(client, superuser):
    """OWASP's CSV injection: names starting with = + - @ tab or CR get a leading apostrophe;
    plain names and numbers are left alone."""
    for number, name in enumerate(FORMULAS):
        make_security(f"51030{number}", name=name, category=name)
    make_security("510310", name="沪深300ETF")

    rows = rows_of(client.get(reverse("admin:etfs_stockinfo_export")))

    header, *body = rows
    names = [row[header.index("name")] for row in body]
    categories = [row[header.index("category")] for row in body]
    assert names == ["'" + name for name in FORMULAS] + ["沪深300ETF"]
    assert categories == ["'" + name for name in FORMULAS] + [""]


def test_negative_numbers_stay_numbers_when_rows_are_written_one_by_one():
    """Escaping is for text: a negative number (an adjusted price written row by row) is
    written as the number it is; the same characters as text are escaped."""
    lines = csv_lines(("code", "close", "name"), [("510300", Decimal("-0.1230"), "-1")])

    assert "".join(lines).splitlines()[1] == "510300,-0.1230,'-1"
