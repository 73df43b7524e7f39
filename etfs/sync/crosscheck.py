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

from .runs.problems import Problem

ONE = Decimal(1)
# Half a unit of the source's third decimal, on each of the two closes compared.
HALF_THOUSANDTH = Decimal("0.0005")


def cross_check_adjusted_closes(recorder, source, cooldown=None) -> int:
    """Compare every security with events of the source's universe (funds, or stocks); record
    differences as warnings; return their number."""
    if cooldown is not None:
        recorder.record(Problem.warning("cross-check skipped: the k-line host is paused"))
        return 0
    found = 0
    funds = getattr(source, "lists_funds", True)
    # Eastmoney's stock series are affine (cash subtracted), not multiplicative: a day's
    # ratio would differ on every day, so stocks compare their share changes only.
    differences = step_differences if funds else share_scale_differences
    securities = StockInfo.objects.filter(is_etf=funds, adjustment_factors__isnull=False)
    for security in securities.distinct():
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
            recorder.record(Problem.warning(f"cross-check stopped: {exc}"))
            break
        except ProviderError as exc:
            recorder.record(
                Problem.warning(f"cross-check {security.code}: {exc}", code=security.code)
            )
            continue
        warnings = differences(security, theirs)
        recorder.record(
            *(
                Problem.warning(text, code=security.code, security_id=security.pk)
                for text in warnings
            )
        )
        found += len(warnings)
        if recorder.should_stop():
            break
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


# A day's raw move below this is too small to read the source's scale from (its 2 decimals).
MIN_RAW_MOVE = Decimal("0.05")
HALF_HUNDREDTH = Decimal("0.005")


def share_scale_differences(security: StockInfo, theirs: dict[dt.date, Decimal]) -> list[str]:
    """A stock's check against the source's affine backward series (hfq = a x raw + b).

    Between two events the source's scale ``a`` is the ratio of its moves to the raw moves;
    a cash dividend moves ``b`` only, a bonus, capitalisation or rights issue multiplies
    ``a`` by the shares after per share before. So the scale's change between two clean days
    (no ex-date inside their move) is compared with the product of our events' share ratios
    in between; cash is not compared, since the conventions differ there by design (ours
    compounds it, the source subtracts it).
    """
    raw = list(
        DailyBar.objects.filter(security=security)
        .order_by("trade_date")
        .values_list("trade_date", "close")
    )
    ratios = dict(
        AdjustmentFactor.objects.filter(security=security).values_list("ex_date", "ratio")
    )
    tolerance = Decimal(str(settings.ETFSYNC_CROSSCHECK_TOLERANCE))
    scales = []  # (day before, day, scale, the source's move)
    for (before, raw_before), (day, raw_close) in zip(raw, raw[1:], strict=False):
        if before not in theirs or day not in theirs or abs(raw_close - raw_before) < MIN_RAW_MOVE:
            continue
        if any(before < ex_date <= day for ex_date in ratios):
            continue  # an ex-date inside the move mixes two scales
        move = theirs[day] - theirs[before]
        scales.append((before, day, move / (raw_close - raw_before), move))

    def mismatch(first: tuple, second: tuple) -> str:
        (_, day, scale, move), (before, later, next_scale, next_move) = first, second
        ours = ONE
        for ex_date, ratio in ratios.items():
            if day < ex_date <= before:
                ours *= ratio
        change = next_scale / scale
        rounding = 2 * HALF_HUNDREDTH / abs(move) + 2 * HALF_HUNDREDTH / abs(next_move)
        if abs(change / ours - 1) <= tolerance + rounding:
            return ""
        return (
            f"{security.code} {later}: the source's backward-adjusted series changes its "
            f"share scale by {change:.4f} since {day}, our events by {ours:.4f} (its stock "
            "series are affine, cash subtracted, so only share changes are compared: a "
            "missing or wrong bonus, capitalisation or rights issue?)"
        )

    scales = [entry for entry in scales if entry[3]]
    warnings, index = [], 0
    while index + 1 < len(scales):
        found = mismatch(scales[index], scales[index + 1])
        if found and index + 2 < len(scales) and mismatch(scales[index + 1], scales[index + 2]):
            # A move we took for clean holds an event we do not know (its scale mixes two):
            # compare across it, once.
            found = mismatch(scales[index], scales[index + 2])
            index += 1
        if found:
            warnings.append(found)
        index += 1
    return warnings
