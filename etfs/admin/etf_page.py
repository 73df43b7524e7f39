"""An ETF's admin page below its fields: the price chart (its data fetched apart), the bars by
date range a page at a time, the export."""

from __future__ import annotations

import datetime as dt

from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.http import urlencode

from etfs.models import DailyBar, StockInfo

BAR_PERIODS = {"day": "Daily", "week": "Weekly", "month": "Monthly"}
ADJUSTMENTS = {"none": "Unadjusted", "qfq": "Forward adjusted", "hfq": "Backward adjusted"}
BARS_PER_PAGE = 50
_COLUMNS = ("open", "high", "low", "close", "volume", "amount")


def chosen_period(request) -> str:
    period = request.GET.get("period", "day")
    return period if period in BAR_PERIODS else "day"


def chosen_adjustment(request) -> str:
    adjust = request.GET.get("adjust", "none")
    return adjust if adjust in ADJUSTMENTS else "none"


def date_range(request) -> tuple[dt.date | None, dt.date | None]:
    """The ?from= and ?to= dates; a missing or malformed one leaves that side open."""

    def read(name: str) -> dt.date | None:
        try:
            return parse_date(request.GET.get(name, ""))
        except ValueError:
            return None

    start, end = read("from"), read("to")
    if start and end and start > end:
        start, end = end, start
    return start, end


def daily_bars(security: StockInfo, adjust: str = "none"):
    """The security's daily bars, oldest first: a queryset (of dicts once adjusted)."""
    bars = DailyBar.objects.filter(security=security).order_by("trade_date")
    return bars.adjusted(adjust) if adjust != "none" else bars


def period_bars(security: StockInfo, period: str, adjust: str = "none") -> list[dict]:
    """The security's bars of a period, oldest first, as dicts with ``period_start``.

    Adjusted prices are computed at read time (``DailyBar.objects.adjusted``); the stored bars
    stay as the source sent them.
    """
    bars = daily_bars(security, adjust)
    if period != "day":
        return bars.resampled(period)
    if adjust == "none":
        bars = bars.values("trade_date", *_COLUMNS)
    return [_as_period(row) for row in bars]


def _as_period(row: dict) -> dict:
    return {"period_start": row["trade_date"], **{column: row[column] for column in _COLUMNS}}


def chart_points(bars: list[dict]) -> list[list]:
    """[date, open, high, low, close, volume] per bar, compact for the chart's JSON."""
    return [
        [
            bar["period_start"].isoformat(),
            float(bar["open"]),
            float(bar["high"]),
            float(bar["low"]),
            float(bar["close"]),
            int(bar["volume"]),
        ]
        for bar in bars
    ]


def chart_data(request, security: StockInfo) -> dict:
    """What the chart draws, fetched by the page once it is shown (etfsync/price_chart.js):
    the whole history at the chosen period, so the page's own cost does not grow with it."""
    period, adjust = chosen_period(request), chosen_adjustment(request)
    return {"points": chart_points(period_bars(security, period, adjust))}


def bar_page(security: StockInfo, period: str, adjust: str, start, end, number):
    """One page of the table, newest first. Daily bars are counted and sliced by the
    database (the (security, trade date) index; a page reads its 50 bars, not the history);
    weekly and monthly ones are resampled by the database over the range, then paged."""
    if period != "day":
        bars = daily_bars(security, adjust)
        if start:
            bars = bars.filter(trade_date__gte=_period_floor(start, period))
        if end:
            bars = bars.filter(trade_date__lte=end)
        return Paginator(bars.resampled(period)[::-1], BARS_PER_PAGE).get_page(number)
    bars = DailyBar.objects.filter(security=security)
    if start:
        bars = bars.filter(trade_date__gte=start)
    if end:
        bars = bars.filter(trade_date__lte=end)
    bars = bars.order_by("-trade_date")
    # Counted and paged on the stored bars (an index-only count); only the page's 50 bars are
    # then read adjusted (counting the adjusted query joined every bar to its factor).
    page = Paginator(bars.values("trade_date", *_COLUMNS), BARS_PER_PAGE).get_page(number)
    rows = list(page.object_list)
    if adjust != "none" and rows:
        newest, oldest = rows[0]["trade_date"], rows[-1]["trade_date"]
        rows = list(bars.filter(trade_date__range=(oldest, newest)).adjusted(adjust))
    page.object_list = [_as_period(row) for row in rows]
    return page


def etf_page_context(request, security: StockInfo) -> dict:
    period, adjust = chosen_period(request), chosen_adjustment(request)
    start, end = date_range(request)
    query = {"period": period, "adjust": adjust, "from": start or "", "to": end or ""}
    export_query = {"codes": security.code, "adjust": adjust}
    export_query.update({key: value for key, value in (("start", start), ("end", end)) if value})
    chart_url = reverse("admin:etfs_stockinfo_chart", args=[security.pk])
    return {
        "bar_period": period,
        "bar_periods": BAR_PERIODS,
        "bar_adjust": adjust,
        "adjustments": ADJUSTMENTS,
        "switch_query": {"period": period, "adjust": adjust, "from": start, "to": end},
        "chart_url": chart_url + "?" + urlencode({"period": period, "adjust": adjust}),
        "bars_page": bar_page(security, period, adjust, start, end, request.GET.get("page")),
        "bars_range": {"from": start, "to": end},
        "bars_query": urlencode(query),
        "export_url": reverse("admin:etfs_dailybar_export") + "?" + urlencode(export_query),
        "corporate_actions": list(security.corporate_actions.order_by("-ex_date")[:50]),
    }


def _period_floor(day: dt.date, period: str) -> dt.date:
    """The start of the period holding ``day``, so a range keeps the week or month it cuts."""
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day
