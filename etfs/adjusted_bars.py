"""Adjusted bars in SQL: the factors joined to the bars, and the adjusted values over them.

``DailyBar.objects.adjusted()`` (etfs/timeseries.py) builds one query on PostgreSQL and
TimescaleDB from the pieces here: each bar joined to the factor row in force on its day
(``join_factor_in_force``) and to its security's factor in force today
(``latest_factor_relation``), and the prices and volume computed over them
(``adjusted_expressions``) in exact decimals. The arithmetic and the convention are
etfs/adjustment.py's, which does the same in Python for SQLite.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import F, FilteredRelation, Q, Value
from django.db.models.expressions import BaseExpression, Col
from django.db.models.functions import Cast, Coalesce, Round
from django.db.models.sql.constants import LOUTER

from etfs.adjustment import ONE, PRICES

DAY_FACTOR_COLUMNS = ("hfq_factor", "split_factor")


class FactorInForce:
    """The factor row in force on each bar's day, joined as ``LEFT JOIN LATERAL (... ORDER BY
    ex_date DESC LIMIT 1) ON TRUE``: an entry of a bar query's ``alias_map`` (the protocol
    Django's ``Join`` documents), added by ``join_factor_in_force``.

    Not a join on ``ex_date <= trade_date AND (valid_until IS NULL OR valid_until >
    trade_date)`` (a ``FilteredRelation``, the first version): no index bounds both sides of
    that, so PostgreSQL read every earlier factor of the security for each bar and kept one
    (bench/market.py's longest stock, 8,778 bars and 107 factors: 470,000 index entries read
    for 8,778 rows). The lateral lookup descends the (security, ex_date) index backwards and
    stops at its first entry: one probe a bar, whatever the number of factors. A bar before
    its security's first ex-date finds none and keeps factor 1 (``Coalesce`` below).
    """

    join_type = LOUTER
    nullable = True
    filtered_relation = None
    # The key of its alias in the query's table map; no table of this name is read.
    table_name = "day_factor"

    def __init__(self, parent_alias: str, table_alias: str | None = None):
        self.parent_alias = parent_alias
        self.table_alias = table_alias

    def as_sql(self, compiler, connection):
        from etfs.models import AdjustmentFactor, DailyBar  # models import this module

        def column(model, name: str, alias: str) -> str:
            return f"{alias}.{connection.ops.quote_name(model._meta.get_field(name).column)}"

        factors = connection.ops.quote_name(AdjustmentFactor._meta.db_table)
        bar = compiler.quote_name_unless_alias(self.parent_alias)
        ex_date = column(AdjustmentFactor, "ex_date", factors)
        selected = ", ".join(column(AdjustmentFactor, name, factors) for name in DAY_FACTOR_COLUMNS)
        return (
            f"LEFT OUTER JOIN LATERAL (SELECT {selected} FROM {factors}"
            f" WHERE {column(AdjustmentFactor, 'security', factors)}"
            f" = {column(DailyBar, 'security', bar)}"
            f" AND {ex_date} <= {column(DailyBar, 'trade_date', bar)}"
            f" ORDER BY {ex_date} DESC LIMIT 1)"
            f" {compiler.quote_name_unless_alias(self.table_alias)} ON TRUE",
            [],
        )

    def relabeled_clone(self, change_map: dict[str, str]) -> FactorInForce:
        return FactorInForce(
            change_map.get(self.parent_alias, self.parent_alias),
            change_map.get(self.table_alias, self.table_alias),
        )

    # Always a LEFT JOIN: a bar without a factor keeps its prices. (Django promotes and
    # demotes joins by the filters on them; no filter is on this one.)
    def promote(self) -> FactorInForce:
        return self

    demote = promote

    @property
    def identity(self) -> tuple:
        return self.__class__, self.parent_alias

    def __eq__(self, other):
        if not isinstance(other, FactorInForce):
            return NotImplemented
        return self.identity == other.identity

    def __hash__(self):
        return hash(self.identity)


def join_factor_in_force(query) -> dict[str, Col]:
    """Joins the factor in force on each bar's day to a bar query (``query``, changed in
    place); returns its ``hfq_factor`` and ``split_factor`` columns."""
    from etfs.models import AdjustmentFactor

    alias = query.join(FactorInForce(query.get_initial_alias()))
    return {name: Col(alias, AdjustmentFactor._meta.get_field(name)) for name in DAY_FACTOR_COLUMNS}


def latest_factor_relation(today: dt.date) -> FilteredRelation:
    """A LEFT JOIN from a bar to its security's factor row in force ``today``: an event
    announced for a later ex-date has a stored factor row already, but it must not change
    today's forward-adjusted prices before its day comes. One row per security, which
    PostgreSQL reads once, not once a bar."""
    factors = "security__adjustment_factors"
    return FilteredRelation(
        factors,
        condition=Q(**{f"{factors}__ex_date__lte": today})
        & (
            Q(**{f"{factors}__valid_until__isnull": True})
            | Q(**{f"{factors}__valid_until__gt": today})
        ),
    )


class AsFetched:
    """No converter per value: psycopg returns a numeric as a Decimal and a bigint as an int
    already, and Django's converters copy every row to apply them (a fifth of the client's
    time on a long history)."""

    convert_value = staticmethod(BaseExpression._convert_value_noop)


class RoundedPrice(AsFetched, Round):
    pass


class WholeShares(AsFetched, Cast):
    pass


def adjusted_expressions(
    mode: str, day_factor: dict[str, Col], latest_factor: str
) -> dict[str, models.Expression]:
    """The adjusted ``open``, ``high``, ``low``, ``close`` and ``volume``: ``day_factor`` the
    columns ``join_factor_in_force`` returned, ``latest_factor`` the name the query gave
    ``latest_factor_relation``."""
    decimal = models.DecimalField(max_digits=40, decimal_places=20)
    price = models.DecimalField(max_digits=30, decimal_places=4)

    def factor(column: str, latest: bool = False):
        value = F(f"{latest_factor}__{column}") if latest else day_factor[column]
        return Coalesce(value, Value(ONE), output_field=decimal)

    if mode == "none":
        values = {name: F(name) for name in PRICES}
        values["volume"] = F("volume")
    elif mode == "hfq":
        values = {name: F(name) * factor("hfq_factor") for name in PRICES}
        values["volume"] = F("volume") / factor("split_factor")
    else:
        values = {
            name: F(name) * factor("hfq_factor") / factor("hfq_factor", latest=True)
            for name in PRICES
        }
        values["volume"] = (
            F("volume") * factor("split_factor", latest=True) / factor("split_factor")
        )
    volume = values.pop("volume")
    adjusted = {
        name: RoundedPrice(
            models.ExpressionWrapper(value, output_field=decimal), 4, output_field=price
        )
        for name, value in values.items()
    }
    # Whole shares: a volume is a count, rounded half up like the prices.
    adjusted["volume"] = WholeShares(
        Round(models.ExpressionWrapper(volume, output_field=decimal), 0, output_field=price),
        models.BigIntegerField(),
    )
    return adjusted
