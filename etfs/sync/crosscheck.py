"""Cross-check our factors against the source's own backward-adjusted (fqt=2) k-lines.

The source's adjusted series is only a coarse check (three decimals; its forward series even
subtracts cash), so what is compared is the adjustment each day carries: the source's
``(hfq_t / hfq_t-1) / (raw_t / raw_t-1)`` against the step of our events on that day (1 on
days without one). A step the source shows and we lack is a missing event; a step we have and
the source lacks, or one of another size, a wrong one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Max, Min

from etfs.models import AdjustmentFactor, DailyBar, StockInfo
from etfs.providers.base import ProviderBlocked, ProviderError

ONE = Decimal(1)
# Half a unit of the source's third decimal, on each of the two closes compared.
HALF_THOUSANDTH = Decimal("0.0005")


def cross_check_adjusted_closes(recorder, source, cooldown=None) -> int:
    """Compare every fund with events; record differences as warnings; return their number."""
    if cooldown is not None:
        recorder.problem("cross-check skipped: the k-line host is paused", severity="warning")
        return 0
    found = 0
    # Funds only: Eastmoney's stock series are affine (cash subtracted), not multiplicative,
    # so a step-by-step ratio would differ on every day (shared/providers.md section 8).
    funds = StockInfo.objects.filter(is_etf=True, adjustment_factors__isnull=False)
    for security in funds.distinct():
        span = DailyBar.objects.filter(security=security).aggregate(
            first=Min("trade_date"), last=Max("trade_date")
        )
        if span["first"] is None:
            continue
        try:
            theirs = source.backward_adjusted_closes(
                security.code, security.exchange, span["first"], span["last"]
            )
        except ProviderBlocked as exc:
            recorder.problem(f"cross-check stopped: {exc}", severity="warning")
            break
        except ProviderError as exc:
            recorder.problem(
                f"cross-check {security.code}: {exc}", code=security.code, severity="warning"
            )
            continue
        warnings = step_differences(security, theirs)
        recorder.problems([(text, security.code, "warning", "", security.pk) for text in warnings])
        recorder.add(warnings=len(warnings))
        found += len(warnings)
        recorder.beat()
    return found


def step_differences(security: StockInfo, theirs: dict[dt.date, Decimal]) -> list[str]:
    raw = list(
        DailyBar.objects.filter(security=security)
        .order_by("trade_date")
        .values_list("trade_date", "close")
    )
    steps = dict(AdjustmentFactor.objects.filter(security=security).values_list("ex_date", "step"))
    tolerance = Decimal(str(settings.ETFSYNC_CROSSCHECK_TOLERANCE))
    warnings = []
    for (before, raw_before), (day, raw_close) in zip(raw, raw[1:], strict=False):
        if before not in theirs or day not in theirs or not theirs[before]:
            continue
        ours = ONE
        for ex_date, step in steps.items():
            if before < ex_date <= day:
                ours *= step
        source = (theirs[day] / theirs[before]) / (raw_close / raw_before)
        rounding = HALF_THOUSANDTH / theirs[day] + HALF_THOUSANDTH / theirs[before]
        if abs(source - ours) > tolerance + rounding * source:
            warnings.append(
                f"{security.code} {day}: the source's backward-adjusted series steps by "
                f"{source:.4f} here, our events by {ours:.4f} (a missing or wrong corporate "
                "action?)"
            )
    return warnings
