"""Adjusted bars in SQL: the factors joined to the bars, and the adjusted values over them.

``DailyBar.objects.adjusted()`` (etfs/timeseries.py) builds one query on PostgreSQL and
TimescaleDB from the pieces here: each bar joined to its security's factors, gathered once per
security into arrays (``join_factor_steps``), the factor in force on the bar's day picked out
of them by a binary search and the one in force today read once per security
(``factor_columns``), and the prices and volume computed over them (``adjusted_expressions``)
in exact decimals. The arithmetic and the convention are etfs/adjustment.py's, which does the
same in Python for SQLite.
"""

from __future__ import annotations

import datetime as dt
from itertools import repeat

from django.db import models
from django.db.models import F, Value
from django.db.models.expressions import BaseExpression
from django.db.models.functions import Cast, Coalesce, Round
from django.db.models.query import ValuesIterable
from django.db.models.sql.constants import LOUTER

from etfs.adjustment import ONE, PRICES

DAY_FACTOR_COLUMNS = ("hfq_factor", "split_factor")


class StepsColumn(BaseExpression):
    """A column of a joined factor subquery (no model has it): ``alias.name``."""

    def __init__(self, alias: str, name: str, output_field: models.Field):
        super().__init__(output_field=output_field)
        self.alias, self.name = alias, name

    def as_sql(self, compiler, connection):
        return (
            f"{compiler.quote_name_unless_alias(self.alias)}.{connection.ops.quote_name(self.name)}",
            [],
        )

    def relabeled_clone(self, change_map: dict[str, str]) -> StepsColumn:
        return StepsColumn(change_map.get(self.alias, self.alias), self.name, self.output_field)

    def get_group_by_cols(self):
        return [self]

    @property
    def identity(self) -> tuple:
        return self.__class__, self.alias, self.name

    def __eq__(self, other):
        return isinstance(other, StepsColumn) and self.identity == other.identity

    def __hash__(self):
        return hash(self.identity)


EX_DATES = "ex_dates"
# Each factor column gathered in ex-date order, and its value in force today.
STEPS = {name: f"{name}s" for name in DAY_FACTOR_COLUMNS}
TODAYS = {name: f"today_{name}" for name in DAY_FACTOR_COLUMNS}


class JoinedSubquery:
    """A LEFT JOIN of a subquery to a bar query: an entry of its ``alias_map`` (the protocol
    Django's ``Join`` documents). ``aliases``: the query's aliases it refers to."""

    join_type = LOUTER
    nullable = True
    filtered_relation = None

    def __init__(self, aliases: tuple[str, ...], today: dt.date, table_alias: str | None = None):
        self.aliases = aliases
        self.today = today
        self.table_alias = table_alias

    def relabeled_clone(self, change_map: dict[str, str]):
        return self.__class__(
            tuple(change_map.get(alias, alias) for alias in self.aliases),
            self.today,
            change_map.get(self.table_alias, self.table_alias),
        )

    # Always a LEFT JOIN: a bar without a factor keeps its prices. (Django promotes and
    # demotes joins by the filters on them; no filter is on this one.)
    def promote(self):
        return self

    demote = promote

    @property
    def parent_alias(self) -> str:
        return self.aliases[0]

    @property
    def identity(self) -> tuple:
        return self.__class__, self.aliases, self.today

    def __eq__(self, other):
        if not isinstance(other, JoinedSubquery):
            return NotImplemented
        return self.identity == other.identity

    def __hash__(self):
        return hash(self.identity)


class FactorSteps(JoinedSubquery):
    """Each security's factors as arrays in ex-date order, and the factors in force ``today``,
    joined to its bars as ``LEFT JOIN (SELECT security_id, array_agg(...) ... GROUP BY
    security_id) ON security_id``.

    The factors are read once per security, not once per bar. Before, a ``LEFT JOIN LATERAL
    (... ORDER BY ex_date DESC LIMIT 1)`` probed the (security, ex_date) index at every bar
    (8,778 probes for bench/market.py's longest stock; with no statistics on the factor table
    PostgreSQL scanned the table at every bar instead), and a range join on ``ex_date <=
    trade_date AND valid_until > trade_date`` before that read every earlier factor at every
    bar. A filter on the bars' security is carried into the grouped subquery by PostgreSQL
    (the join's equality), so a security's bars read its own factors only, whatever the
    statistics.
    """

    # The key of its alias in the query's table map; no table of this name is read.
    table_name = "factor_steps"

    def as_sql(self, compiler, connection):
        from etfs.models import AdjustmentFactor, DailyBar  # models import this module

        def column(name: str) -> str:
            return connection.ops.quote_name(AdjustmentFactor._meta.get_field(name).column)

        quote = connection.ops.quote_name
        security, ex_date, valid_until = (
            column("security"),
            column("ex_date"),
            column("valid_until"),
        )
        in_force_today = f"{ex_date} <= %s AND ({valid_until} IS NULL OR {valid_until} > %s)"
        gathered = [f"array_agg({ex_date} ORDER BY {ex_date}) AS {quote(EX_DATES)}"]
        for name in DAY_FACTOR_COLUMNS:
            gathered.append(f"array_agg({column(name)} ORDER BY {ex_date}) AS {quote(STEPS[name])}")
            gathered.append(
                f"(array_agg({column(name)}) FILTER (WHERE {in_force_today}))[1]"
                f" AS {quote(TODAYS[name])}"
            )
        alias = compiler.quote_name_unless_alias(self.table_alias)
        bar = compiler.quote_name_unless_alias(self.parent_alias)
        bar_security = quote(DailyBar._meta.get_field("security").column)
        return (
            f"LEFT OUTER JOIN (SELECT {security}, {', '.join(gathered)}"
            f" FROM {quote(AdjustmentFactor._meta.db_table)} GROUP BY {security}) {alias}"
            f" ON ({alias}.{security} = {bar}.{bar_security})",
            [self.today] * (2 * len(DAY_FACTOR_COLUMNS)),
        )


class FactorOnDay(JoinedSubquery):
    """The factors in force on each bar's day, picked out of its security's ``FactorSteps``:
    ``steps[width_bucket(trade_date, ex_dates)]``, PostgreSQL's binary search over the sorted
    ex-dates (bucket 0, before the first ex-date, is no element: NULL). A lateral subquery
    kept apart by ``OFFSET 0`` so that each bar's bucket is found and each array read once,
    not once per price: reading an element of an array of numerics walks the elements before
    it (bench/market.py's longest stock: forward-adjusted in 29.5 ms of the database's time,
    32.7 ms with the lookup repeated per price, 17.0 ms with no lookup at all)."""

    table_name = "factor_on_day"

    def as_sql(self, compiler, connection):
        from etfs.models import DailyBar  # models import this module

        quote = connection.ops.quote_name
        bar, steps = (compiler.quote_name_unless_alias(alias) for alias in self.aliases)
        trade_date = quote(DailyBar._meta.get_field("trade_date").column)
        picked = ", ".join(
            f"{steps}.{quote(STEPS[name])}[bucket.k] AS {quote(name)}"
            for name in DAY_FACTOR_COLUMNS
        )
        return (
            f"LEFT OUTER JOIN LATERAL (SELECT {picked} FROM (SELECT width_bucket("
            f"{bar}.{trade_date}, {steps}.{quote(EX_DATES)}) AS k) bucket OFFSET 0)"
            f" {compiler.quote_name_unless_alias(self.table_alias)} ON TRUE",
            [],
        )


def join_factor_steps(query, today: dt.date) -> tuple[dict[str, StepsColumn], ...]:
    """Joins each bar's security's factors to a bar query (``query``, changed in place);
    returns the ``hfq_factor`` and ``split_factor`` in force on each bar's day, and in force
    ``today`` (NULL before the first ex-date, or with no factor)."""
    bar = query.get_initial_alias()
    steps = query.join(FactorSteps((bar,), today))
    on_day = query.join(FactorOnDay((bar, steps), today))
    decimal = models.DecimalField(max_digits=40, decimal_places=20)
    return (
        {name: StepsColumn(on_day, name, decimal) for name in DAY_FACTOR_COLUMNS},
        {name: StepsColumn(steps, TODAYS[name], decimal) for name in DAY_FACTOR_COLUMNS},
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
    mode: str, day_factor: dict[str, StepsColumn], todays_factor: dict[str, StepsColumn]
) -> dict[str, models.Expression]:
    """The adjusted ``open``, ``high``, ``low``, ``close`` and ``volume``: ``day_factor`` and
    ``todays_factor`` the factors ``join_factor_steps`` returned."""
    decimal = models.DecimalField(max_digits=40, decimal_places=20)
    price = models.DecimalField(max_digits=30, decimal_places=4)

    def factor(column: str, today: bool = False):
        value = todays_factor[column] if today else day_factor[column]
        return Coalesce(value, Value(ONE), output_field=decimal)

    if mode == "none":
        values = {name: F(name) for name in PRICES}
        values["volume"] = F("volume")
    elif mode == "hfq":
        values = {name: F(name) * factor("hfq_factor") for name in PRICES}
        values["volume"] = F("volume") / factor("split_factor")
    else:
        values = {
            name: F(name) * factor("hfq_factor") / factor("hfq_factor", today=True)
            for name in PRICES
        }
        values["volume"] = F("volume") * factor("split_factor", today=True) / factor("split_factor")
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


class AdjustedValuesIterable(ValuesIterable):
    """``ValuesIterable``'s dicts, each made by ``dict(zip(names, row))`` in C: Django's
    comprehension over column indexes and the generator yielding it cost a third of the
    client's time on a long history (bench/market.py's longest stock: 25 ms of 45)."""

    def __iter__(self):
        query = self.queryset.query
        if query.selected:
            names = list(query.selected)
        else:
            names = [*query.extra_select, *query.values_select, *query.annotation_select]
        rows = query.get_compiler(self.queryset.db).results_iter(
            chunked_fetch=self.chunked_fetch, chunk_size=self.chunk_size
        )
        return map(dict, map(zip, repeat(names), rows))
