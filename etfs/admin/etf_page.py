"""An ETF's admin page below its fields: the price chart, the bars by date range, the export."""

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


def period_bars(security: StockInfo, period: str, adjust: str = "none") -> list[dict]:
    """The security's bars of a period, oldest first, as dicts with ``period_start``.

    Adjusted prices are computed at read time (``DailyBar.objects.adjusted``); the stored bars
    stay as the source sent them.
    """
    bars = DailyBar.objects.filter(security=security).order_by("trade_date")
    if adjust != "none":
        bars = bars.adjusted(adjust)
    if period != "day":
        return bars.resampled(period)
    if adjust == "none":
        bars = bars.values("trade_date", *_COLUMNS)
    return [{"period_start": row["trade_date"], **{c: row[c] for c in _COLUMNS}} for row in bars]


def chart_points(bars: list[dict]) -> list[list]:
    """[date, open, high, low, close, volume] per bar, compact for the page's JSON."""
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


def etf_page_context(request, security: StockInfo) -> dict:
    period, adjust = chosen_period(request), chosen_adjustment(request)
    start, end = date_range(request)
    history = period_bars(security, period, adjust)
    in_range = [
        bar
        for bar in reversed(history)
        if (not start or bar["period_start"] >= _period_floor(start, period))
        and (not end or bar["period_start"] <= end)
    ]
    page = Paginator(in_range, BARS_PER_PAGE).get_page(request.GET.get("page"))
    query = {"period": period, "adjust": adjust, "from": start or "", "to": end or ""}
    export_query = {"codes": security.code, "adjust": adjust}
    export_query.update({key: value for key, value in (("start", start), ("end", end)) if value})
    return {
        "bar_period": period,
        "bar_periods": BAR_PERIODS,
        "bar_adjust": adjust,
        "adjustments": ADJUSTMENTS,
        "switch_query": {"period": period, "adjust": adjust, "from": start, "to": end},
        "chart_points": chart_points(history),
        "bars_page": page,
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
