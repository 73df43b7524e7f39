"""Two funds with hand-worked adjusted values: 513500's 1:2 split and a 510050 cash dividend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from etfs.adjustment import combine_events, factor_rows
from etfs.models import AdjustmentFactor, CorporateAction, DailyBar, StockInfo

SPLIT_DAY = dt.date(2022, 3, 29)
DIVIDEND_DAY = dt.date(2024, 12, 2)
# (day, open, high, low, close, volume): unadjusted, as stored.
SPLIT_BARS = [
    (dt.date(2014, 1, 15), "0.994", "0.996", "0.985", "0.986", 1_000_000),  # akshare's 513500
    (dt.date(2022, 3, 28), "2.500", "2.520", "2.490", "2.510", 1_000_000),
    (SPLIT_DAY, "1.250", "1.262", "1.240", "1.255", 2_000_000),
    (dt.date(2023, 1, 4), "1.247", "1.249", "1.240", "1.245", 3_000_000),  # akshare's 513500
]
DIVIDEND_BARS = [
    (dt.date(2024, 11, 29), "2.740", "2.760", "2.730", "2.750", 5_000_000),
    (DIVIDEND_DAY, "2.700", "2.720", "2.690", "2.710", 6_000_000),
]
# Hand-worked: hfq multiplies from the ex-date on by 2 (split) or 2.750 / 2.695 (dividend);
# qfq divides what came before by the same.
SPLIT_HFQ = {
    dt.date(2014, 1, 15): ("0.9940", "0.9960", "0.9850", "0.9860", "1000000"),
    dt.date(2022, 3, 28): ("2.5000", "2.5200", "2.4900", "2.5100", "1000000"),
    SPLIT_DAY: ("2.5000", "2.5240", "2.4800", "2.5100", "1000000"),
    dt.date(2023, 1, 4): ("2.4940", "2.4980", "2.4800", "2.4900", "1500000"),
}
SPLIT_QFQ = {
    dt.date(2014, 1, 15): ("0.4970", "0.4980", "0.4925", "0.4930", "2000000"),
    dt.date(2022, 3, 28): ("1.2500", "1.2600", "1.2450", "1.2550", "2000000"),
    SPLIT_DAY: ("1.2500", "1.2620", "1.2400", "1.2550", "2000000"),
    dt.date(2023, 1, 4): ("1.2470", "1.2490", "1.2400", "1.2450", "3000000"),
}
DIVIDEND_HFQ = {
    dt.date(2024, 11, 29): ("2.7400", "2.7600", "2.7300", "2.7500", "5000000"),
    DIVIDEND_DAY: ("2.7551", "2.7755", "2.7449", "2.7653", "6000000"),
}
DIVIDEND_QFQ = {
    # 2.750 x 0.98 = 2.695 = P - c: the ex-rights reference price.
    dt.date(2024, 11, 29): ("2.6852", "2.7048", "2.6754", "2.6950", "5000000"),
    DIVIDEND_DAY: ("2.7000", "2.7200", "2.6900", "2.7100", "6000000"),
}


def add_fund(code: str, exchange: str, bars, using: str = "default") -> StockInfo:
    security = StockInfo.objects.using(using).create(
        code=code, exchange=exchange, name=f"ETF {code}", is_etf=True
    )
    DailyBar.objects.using(using).bulk_create(
        DailyBar(
            security=security,
            trade_date=day,
            open=D(open_),
            high=D(high),
            low=D(low),
            close=D(close),
            volume=volume,
            amount=D(close) * volume,
        )
        for day, open_, high, low, close, volume in bars
    )
    return security


def add_event(security, ex_date, kind, cash="0", ratio="1", using: str = "default"):
    return CorporateAction.objects.using(using).create(
        security=security, ex_date=ex_date, kind=kind, cash=D(cash), ratio=D(ratio)
    )


def store_factors_directly(security, using: str) -> None:
    """Factor rows from the pure arithmetic (for a database the service does not write to)."""
    events = CorporateAction.objects.using(using).filter(security=security)
    days = combine_events(events.values_list("ex_date", "cash", "ratio", "kind", "rights_price"))
    closes = {
        day.ex_date: DailyBar.objects.using(using)
        .filter(security=security, trade_date__lt=day.ex_date)
        .order_by("-trade_date")
        .values_list("close", flat=True)
        .first()
        for day in days
    }
    rows, _ = factor_rows(days, closes.get)
    AdjustmentFactor.objects.using(using).bulk_create(
        AdjustmentFactor(security=security, **{k: getattr(row, k) for k in row.__slots__})
        for row in rows
    )


def as_table(rows) -> dict:
    return {
        row["trade_date"]: tuple(
            str(row[name]) for name in ("open", "high", "low", "close", "volume")
        )
        for row in rows
    }
