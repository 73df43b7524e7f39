"""Securities (funds and stocks) and their names over time; the reads of them."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Count, Min, Q

from etfs.codes import CODE_LENGTH, CODE_PATTERN, CODE_RULE


class Exchange(models.TextChoices):
    XSHG = "XSHG", "Shanghai (XSHG)"
    XSHE = "XSHE", "Shenzhen (XSHE)"


class ListingStatus(models.TextChoices):
    LISTED = "listed", "Listed"
    DELISTED = "delisted", "Delisted"


class Board(models.TextChoices):
    """A stock's board; funds have none (an empty ``board``)."""

    MAIN = "main", "Main board"
    STAR = "star", "STAR Market"
    CHINEXT = "chinext", "ChiNext"


six_digit_code = RegexValidator(CODE_PATTERN, f"A security code is {CODE_RULE}.")


class StockInfoQuerySet(models.QuerySet):
    def in_universe(
        self, is_etf: bool, exchange: str | None = None, *, include_delisted: bool = False
    ):
        """Funds or stocks (listed ones unless asked otherwise), optionally of one exchange.
        A job asks through its universe (etfs.sync.universe), not with the flag itself."""
        queryset = self.filter(is_etf=is_etf)
        if not include_delisted:
            queryset = queryset.filter(status=ListingStatus.LISTED)
        if exchange:
            queryset = queryset.filter(exchange=exchange)
        return queryset

    def etfs(self, exchange: str | None = None, *, include_delisted: bool = False):
        """ETFs (listed ones unless asked otherwise), optionally of one exchange."""
        return self.in_universe(True, exchange, include_delisted=include_delisted)

    def stocks(
        self, exchange: str | None = None, board: str | None = None, *, include_delisted=False
    ):
        """Stocks (listed ones unless asked otherwise), optionally of one exchange or board."""
        queryset = self.in_universe(False, exchange, include_delisted=include_delisted)
        if board:
            queryset = queryset.filter(board=board)
        return queryset

    def stock_count_by_exchange(self) -> dict[str, int]:
        counts = dict.fromkeys(Exchange.values, 0)
        rows = self.stocks().order_by().values_list("exchange").annotate(n=Count("id"))
        counts.update(dict(rows))
        return counts

    def stock_count_by_board(self) -> dict[str, int]:
        counts = dict.fromkeys(Board.values, 0)
        rows = self.stocks().order_by().values_list("board").annotate(n=Count("id"))
        counts.update(dict(rows))
        return counts

    def etf_codes_among(self, codes) -> set[str]:
        """Which of ``codes`` are ETFs we hold, delisted ones included (their history stays)."""
        etfs = self.etfs(include_delisted=True).filter(code__in=codes)
        return set(etfs.values_list("code", flat=True))

    def etf_count_by_exchange(self) -> dict[str, int]:
        counts = dict.fromkeys(Exchange.values, 0)
        rows = self.etfs().order_by().values_list("exchange").annotate(n=Count("id"))
        counts.update(dict(rows))
        return counts

    # Freshness reads: plain columns kept by the writes (see StockInfo).
    def up_to_date(self, final_day):
        return self.filter(last_bar_date__gte=final_day)

    def behind(self, final_day):
        """Without the last final day's bar: suspended, missing at the source, or not synced."""
        return self.filter(Q(last_bar_date__lt=final_day) | Q(last_bar_date__isnull=True))

    def with_gaps(self):
        return self.filter(missing_days__gt=0)

    def with_code_prefix(self, term: str):
        """Securities whose code is ``term`` or starts with it (1 to 6 ASCII digits); none for
        any other text, which no code holds."""
        if not (term.isascii() and term.isdigit() and len(term) <= CODE_LENGTH):
            return self.none()
        if len(term) == CODE_LENGTH:
            return self.filter(code=term)
        return self.filter(code__startswith=term)

    def freshness_by_exchange(self, final_day, *, is_etf: bool = True) -> dict[str, dict]:
        """Per exchange: listed ETFs (or stocks), how many hold ``final_day``, how many are
        behind it or have gaps, and the oldest last bar."""
        behind = Q(last_bar_date__lt=final_day) | Q(last_bar_date__isnull=True)
        rows = (
            (self.etfs() if is_etf else self.stocks())
            .order_by()
            .values("exchange")
            .annotate(
                listed=Count("id"),
                up_to_date=Count("id", filter=Q(last_bar_date__gte=final_day)),
                behind=Count("id", filter=behind),
                with_gaps=Count("id", filter=Q(missing_days__gt=0)),
                oldest_last_bar=Min("last_bar_date"),
            )
        )
        return {row.pop("exchange"): row for row in rows}


class StockInfo(models.Model):
    """One listed security, stock or fund, on the Shanghai or Shenzhen exchange."""

    code = models.CharField(max_length=6, validators=[six_digit_code])
    exchange = models.CharField(max_length=4, choices=Exchange.choices)
    name = models.CharField(max_length=100)
    is_etf = models.BooleanField(default=False, db_index=True, verbose_name="is ETF")
    category = models.CharField(
        max_length=50, blank=True, help_text="Fund category in words, from the exchange's list."
    )
    list_date = models.DateField(null=True, blank=True)
    board = models.CharField(
        max_length=10, choices=Board.choices, blank=True, help_text="Stocks only; empty for funds."
    )
    is_st = models.BooleanField(
        "ST", default=False, help_text="On the risk-warning (ST, *ST) board at the last list sync."
    )
    delist_date = models.DateField(
        null=True, blank=True, help_text="The exchange's delisting date, from its delisted list."
    )
    history_unavailable_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the source answered no k-lines at all for this delisted security: "
        "a fact about it (long-delisted stocks have none there), not asked again.",
    )
    # The profile the exchanges' own lists give (etfs/providers/exchanges.py).
    tracking_index_code = models.CharField(max_length=20, blank=True)
    tracking_index_name = models.CharField(max_length=100, blank=True)
    fund_manager = models.CharField(
        max_length=100, blank=True, help_text="The fund management company."
    )
    provider = models.CharField(
        max_length=30, blank=True, help_text="The source whose list first named this security."
    )
    on_exchange_list = models.BooleanField(
        null=True,
        blank=True,
        help_text="On its exchange's own list at the last list sync (empty: not checked).",
    )
    status = models.CharField(
        max_length=10, choices=ListingStatus.choices, default=ListingStatus.LISTED
    )
    first_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When a list sync first saw this security."
    )
    last_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When a list sync last saw this security."
    )
    delisted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Freshness and gaps, kept by every committed batch of bars (etfs/sync/freshness.py), so
    # that lists sort and filter on plain columns instead of aggregating bars. Not indexed: a
    # market's few thousand rows sort in memory in a few milliseconds, while a day's write
    # rewrites every row's summary, and without an index on them (and with free room in each
    # page, the table's fillfactor) that rewrite is a HOT update touching no index at all:
    # 6,800 summaries in about 105 ms instead of 260 ms (bench/market.py).
    bar_count = models.PositiveIntegerField(default=0)
    first_bar_date = models.DateField(null=True, blank=True)
    last_bar_date = models.DateField(null=True, blank=True)
    missing_days = models.PositiveIntegerField(
        "gaps",
        default=0,
        help_text="Trading days between the first and the last bar without a bar that no "
        "suspension explains.",
    )
    suspended_days = models.PositiveIntegerField(
        "suspended",
        default=0,
        help_text="Trading days between the first and the last bar without a bar that a "
        "suspension explains.",
    )
    bars_off_calendar = models.PositiveIntegerField(
        "bars on closed days",
        default=0,
        help_text="Bars on days the calendar does not hold open (closed, or not known yet): "
        "flagged on their own, never netted against a gap.",
    )
    days_behind = models.PositiveIntegerField(
        "behind",
        null=True,
        blank=True,
        help_text="Trading days after the last bar up to the last final day, as of the last "
        "price run.",
    )

    objects = StockInfoQuerySet.as_manager()

    class Meta:
        verbose_name = "security"
        verbose_name_plural = "securities"
        ordering = ["code", "exchange"]
        constraints = [
            models.UniqueConstraint(fields=["code", "exchange"], name="stockinfo_code_exchange"),
            models.CheckConstraint(
                condition=Q(exchange__in=Exchange.values), name="stockinfo_exchange_known"
            ),
            models.CheckConstraint(
                condition=Q(code__regex=CODE_PATTERN), name="stockinfo_code_six_digits"
            ),
            models.CheckConstraint(
                condition=Q(board__in=["", *Board.values]), name="stockinfo_board_known"
            ),
            models.CheckConstraint(
                condition=Q(is_etf=False) | Q(board=""), name="stockinfo_fund_without_board"
            ),
        ]
        indexes = [models.Index(fields=["exchange", "is_etf"], name="stockinfo_exchange_etf")]

    def __str__(self) -> str:
        return f"{self.code}.{self.exchange} {self.name}"


class SecurityName(models.Model):
    """A name a security carried, from the day a list sync first saw it: names are history
    (ST on and off, renames, the N/C marks of new listings), never a key."""

    security = models.ForeignKey(StockInfo, on_delete=models.CASCADE, related_name="names")
    name = models.CharField(max_length=100)
    first_seen = models.DateField()

    class Meta:
        ordering = ["security", "first_seen", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["security", "first_seen", "name"], name="securityname_security_day_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (from {self.first_seen})"
