"""What a corporate action of a fund or a stock can be: the one place its limits are written.

The parsers reject a row beyond them, the event store checks again before writing (a source
that forgot is still refused), and the factor arithmetic refuses a step beyond them, so that a
value no security can have (a cash dividend 1e-8 below the close, a split of 1e8 or 1e-11,
cash of 1.2e10) is a message on the run instead of a numeric overflow, an IntegrityError or a
``decimal.InvalidOperation`` in every later run. Pure: no Django import.

The limits are far beyond any real event and well inside the columns that hold them
(CorporateAction: cash 18 digits with 8 places, ratio 24 with 10; AdjustmentFactor: 40 with
20): the largest A-share dividend is a few tens of yuan a share, the largest fund split 1:100
and the deepest conversion 100-to-1 (511110, 0.01 on 2025-01-17).
"""

from __future__ import annotations

from decimal import Decimal

# Cash per unit or share, yuan: positive, below this, and below the previous close.
MAX_CASH = Decimal("10000")
# Units after per unit before (splits, conversions, bonus, capitalisation and rights shares):
# from a 10,000-to-1 merge to a 1:10,000 split.
MIN_RATIO = Decimal("0.0001")
MAX_RATIO = Decimal("10000")
# Rights issue price per share, yuan.
MAX_RIGHTS_PRICE = Decimal("10000")
# One ex-date moves the price by at most this factor either way (P / ref), and a security's
# cumulative factor stays within what 20 decimal places hold exactly.
MAX_STEP = Decimal("10000")
MAX_CUMULATIVE = Decimal("1e15")
MIN_CUMULATIVE = Decimal("1e-8")


def event_problem(cash: Decimal, ratio: Decimal, rights_price: Decimal = Decimal(0)) -> str:
    """Why an event's values cannot be true, or "" when they are within the limits."""
    if not (cash.is_finite() and ratio.is_finite() and rights_price.is_finite()):
        return "a value is not a finite number"
    if cash < 0:
        return f"cash {cash} is negative"
    if cash >= MAX_CASH:
        return f"cash {cash} per unit is not below {MAX_CASH}"
    if not MIN_RATIO <= ratio <= MAX_RATIO:
        return f"ratio {ratio} is outside [{MIN_RATIO}, {MAX_RATIO}] units after per unit before"
    if rights_price < 0 or rights_price >= MAX_RIGHTS_PRICE:
        return f"rights price {rights_price} is outside [0, {MAX_RIGHTS_PRICE})"
    return ""
