"""Generic checks of daily bars, and bars kept as checked exact text (``BarRows``).

Every source runs its bars through these checks, so one bar is judged the same way whoever
served it. Nothing here imports Django.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from operator import le

from .records import Bar, RowProblem

# --- generic bar checks -----------------------------------------------------------------------

# amount / volume must lie within [low, high] widened by this share (rounding of prices and
# amounts); outside it the units are suspect (lots vs shares, yuan vs thousands).
UNIT_TOLERANCE = Decimal("0.03")
# Far above any real fund's values, and within what the DailyBar columns can hold.
MAX_PRICE = Decimal("1000000")
MAX_AMOUNT = Decimal("1e18")
MAX_VOLUME = 10**17


def bar_sanity_problem(bar: Bar, today: dt.date | None) -> str:
    """Why a bar cannot be true, or "" when it passes."""
    if today is not None and bar.trade_date > today:
        return f"date is in the future (today is {today})"
    if min(bar.open, bar.high, bar.low, bar.close) <= 0:
        return "a price is zero or negative"
    if bar.high >= MAX_PRICE or bar.amount >= MAX_AMOUNT or bar.volume >= MAX_VOLUME:
        return "a value is implausibly large (garbage in the answer?)"
    if bar.high < max(bar.open, bar.close):
        return f"high {bar.high} is below open/close {max(bar.open, bar.close)}"
    if bar.low > min(bar.open, bar.close):
        return f"low {bar.low} is above open/close {min(bar.open, bar.close)}"
    if bar.volume < 0 or bar.amount < 0:
        return "negative volume or amount"
    return ""


def unit_warnings(bars: list[Bar], code: str, where: str) -> list[RowProblem]:
    """Flag bars whose average price (amount / volume) lies outside the day's range."""
    warnings = []
    for bar in bars:
        if bar.volume <= 0 or bar.amount <= 0:
            continue
        average = bar.amount / bar.volume
        low, high = bar.low * (1 - UNIT_TOLERANCE), bar.high * (1 + UNIT_TOLERANCE)
        if not low <= average <= high:
            warnings.append(
                RowProblem(
                    f"{where} {bar.trade_date}: suspicious units: amount/volume = "
                    f"{average:.4f} yuan per share lies outside [{bar.low}, {bar.high}]",
                    code=code,
                    fatal=False,
                    kind="suspicious units",
                )
            )
    return warnings


def drop_duplicate_dates(
    bars: list[Bar], code: str, where: str
) -> tuple[list[Bar], list[RowProblem]]:
    """A date twice in one answer: neither copy can be trusted, both are left out."""
    counts = Counter(bar.trade_date for bar in bars)
    duplicated = {day for day, count in counts.items() if count > 1}
    if not duplicated:
        return bars, []
    problems = [
        RowProblem(f"{where} {day}: date appears {counts[day]} times in one answer", code=code)
        for day in sorted(duplicated)
    ]
    return [bar for bar in bars if bar.trade_date not in duplicated], problems


def bar_text(bar: Bar) -> str:
    """A parsed bar as people read it (the source's own row is gone by then)."""
    return (
        f"{bar.trade_date}: open {bar.open}, high {bar.high}, low {bar.low}, "
        f"close {bar.close}, volume {bar.volume} shares, amount {bar.amount} yuan"
    )


def checked_bars(
    bars: list[Bar], code: str, where: str, today: dt.date | None
) -> tuple[list[Bar], list[RowProblem]]:
    """The bars that pass every generic check, and a problem for each one that did not."""
    kept, problems = [], []
    for bar in bars:
        reason = bar_sanity_problem(bar, today)
        if reason:
            problems.append(RowProblem(f"{where} {bar.trade_date}: {reason}", code, bar_text(bar)))
        else:
            kept.append(bar)
    kept, duplicates = drop_duplicate_dates(kept, code, where)
    return kept, problems + duplicates + unit_warnings(kept, code, where)


# --- bars as checked text ------------------------------------------------------------------

# Bar fields in DailyBar's column order, as text (volume in shares): what BarRows keeps.
BAR_TEXT_FIELDS = ("trade_date", "open", "high", "low", "close", "volume", "amount")


class BarRows(Sequence[Bar]):
    """Checked bars kept as exact decimal text, one tab-separated line each, in ``BAR_TEXT_FIELDS``
    order; a ``Bar`` is made only when one is read.

    Parsing every number of a full history into ``Decimal`` and formatting it back for the
    database was most of a price sync's CPU (bench/profile_sync.py): the database parses the
    text itself (``copy_text`` feeds COPY as it is), so decimals stay exact without Python
    touching them.
    """

    __slots__ = ("lines", "first", "last", "largest_move")

    def __init__(
        self,
        lines: list[str],
        first: str = "",
        last: str = "",
        largest_move: float | None = None,
    ):
        self.lines = lines
        # The largest move between two bars in a row, open or close against the close before
        # (|price / previous close - 1|, as a float), given by a parser that saw the lines in
        # date order; None when unknown. The jump check skips a first history well below its
        # threshold (etfs/sync/jumps.py).
        self.largest_move = largest_move
        # The earliest and latest trade date (ISO text), given by a parser that saw them.
        if lines and not (first and last):
            days = [line[:10] for line in lines]
            first, last = min(days), max(days)
        self.first, self.last = first, last

    @classmethod
    def from_bars(cls, bars: Iterable[Bar]) -> BarRows:
        return cls(["\t".join(str(getattr(bar, name)) for name in BAR_TEXT_FIELDS) for bar in bars])

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return BarRows(self.lines[index])
        return _bar_from_text(self.lines[index])

    def __iter__(self) -> Iterator[Bar]:
        return map(_bar_from_text, self.lines)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"<BarRows {len(self.lines)} bars {self.first}..{self.last}>"

    def until(self, day: dt.date) -> BarRows:
        """The bars up to ``day``: ISO dates compare as text."""
        if not self.lines or self.last <= day.isoformat():
            return self
        limit = day.isoformat()
        return BarRows([line for line in self.lines if line[:10] <= limit])

    def copy_text(self, security_id: int) -> str:
        """COPY's text format for (security_id, *BAR_TEXT_FIELDS) rows."""
        if not self.lines:
            return ""
        prefix = f"{security_id}\t"
        return prefix + ("\n" + prefix).join(self.lines) + "\n"


def _bar_from_text(line: str) -> Bar:
    day, open_, high, low, close, volume, amount = line.split("\t")
    return Bar(
        dt.date.fromisoformat(day),
        Decimal(open_),
        Decimal(high),
        Decimal(low),
        Decimal(close),
        int(volume),
        Decimal(amount),
    )


# A float screen of bar_sanity_problem and unit_warnings for the common case. Floats order
# decimals of up to 15 significant digits exactly like the decimals themselves; a parser that
# hands over prices of at most 11 digits and asks the exact checks about anything this screen
# does not pass gets the same answers, at a fraction of the cost.
_LOW_LIMIT = float(1 - UNIT_TOLERANCE) * (1 + 1e-9)
_HIGH_LIMIT = float(1 + UNIT_TOLERANCE) * (1 - 1e-9)
_MAX_PRICE = float(MAX_PRICE)
_MAX_AMOUNT = float(MAX_AMOUNT)


def surely_pass_bar_checks(
    opens: list[float],
    highs: list[float],
    lows: list[float],
    closes: list[float],
    volumes: list[int],
    amounts: list[float],
) -> bool:
    """True only when the exact checks surely pass for every bar of these columns (no
    problem, no unit warning); False means "ask them", not "bad". Whole columns are compared
    in loops that run in C (min, max, map); only the average price is worked out bar by bar.
    """
    if not opens:
        return True
    if not (
        min(lows) > 0
        and max(highs) < _MAX_PRICE
        and min(amounts) >= 0
        and max(amounts) < _MAX_AMOUNT
        and min(volumes) >= 0
        and max(volumes) < MAX_VOLUME
        and all(map(le, lows, opens))
        and all(map(le, opens, highs))
        and all(map(le, lows, closes))
        and all(map(le, closes, highs))
    ):
        return False
    return all(
        low * _LOW_LIMIT < amount / volume < high * _HIGH_LIMIT
        for low, high, volume, amount in zip(lows, highs, volumes, amounts, strict=True)
        if volume and amount
    )
