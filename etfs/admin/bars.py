"""The daily bars list: tens of millions of rows, read through plans that do not need luck.

At 20 million bars the planner's guesses decide everything: a search that joined the
securities and filtered on ``code LIKE '%…%'`` walked the whole trade-date index backwards
whenever the statistics were stale (seconds; 31 s for a fragment matching nothing). So the
search looks the securities up first (a code or its first digits: 6,800 rows) and filters the
bars by their ids; the list's order is (trade date, security), which the unique
(security, trade date) index serves for one security and the (trade date, security) index for
several, with the security tested inside the index. Sorting by a value column sorts every bar
searched for, so it is offered only once a search has narrowed the list to a few securities;
counts stop at ``EXACT_COUNT_LIMIT`` rows and give the planner's estimate beyond.
bench/market.py measures each of these at 20 M bars.
"""

from __future__ import annotations

import json
from functools import partial

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.core.paginator import Paginator
from django.db import connection
from django.urls import path
from django.utils.functional import cached_property

from etfs.models import DailyBar, StockInfo

from .display import grouped
from .exports import bar_export_view
from .read_only import SyncedDataAdmin

# Counted exactly up to here (a bounded read whatever the statistics); beyond, estimated.
EXACT_COUNT_LIMIT = 10_000
# Value columns sort the bars of at most this many securities (a search for one code or a few).
SORTABLE_SECURITIES = 10
ALWAYS_SORTABLE = ("trade_date",)


class EstimatedCountPaginator(Paginator):
    """Counts up to ``EXACT_COUNT_LIMIT`` rows exactly; beyond, PostgreSQL's estimate of the
    filtered query (an exact ``COUNT(*)`` of this year's bars read 1.5 million rows)."""

    @cached_property
    def count(self):
        queryset = self.object_list
        if connection.vendor != "postgresql" or not hasattr(queryset, "query"):
            return super().count
        counted = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if counted <= EXACT_COUNT_LIMIT:
            return counted
        # Without the join to the bars' securities (list_select_related): a bar has one, so
        # the join cannot change the count, and the planner's guess of it (no foreign key to
        # go by, migration 0022) only blurred the estimate.
        return max(planner_estimate(queryset.select_related(None)), counted)


def planner_estimate(queryset) -> int:
    """The rows PostgreSQL expects the query to return (EXPLAIN, nothing is read)."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


class BarChangeList(ChangeList):
    """Sorts only by the columns offered: a hand-made ``?o=`` cannot sort every bar."""

    def get_ordering_field(self, field_name):
        if self.sortable_by is not None and field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)


@admin.register(DailyBar)
class DailyBarAdmin(SyncedDataAdmin, admin.ModelAdmin):
    list_display = (
        "security",
        "trade_date",
        "open",
        "high",
        "low",
        "close",
        "volume_grouped",
        "amount_grouped",
    )
    list_select_related = ("security",)
    list_filter = (("trade_date", admin.DateFieldListFilter),)
    raw_id_fields = ("security",)
    search_fields = ("security__code",)
    search_help_text = "A security's code, or its first digits (5103 finds 510300 and 510310)."
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # (trade date, security) is unique: no id to sort by, so an index gives the order.
    ordering = ("-trade_date", "-security_id")
    list_per_page = 100

    def get_changelist(self, request, **kwargs):
        return BarChangeList

    def get_queryset(self, request):
        # Appended to any order chosen by a column: the order stays total without the id.
        return super().get_queryset(request).order_by("-security_id")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        ids = list(StockInfo.objects.with_code_prefix(term).values_list("pk", flat=True))
        return queryset.filter(security_id__in=ids), False

    def get_sortable_by(self, request):
        term = request.GET.get(SEARCH_VAR, "").strip()
        if term and StockInfo.objects.with_code_prefix(term).count() <= SORTABLE_SECURITIES:
            return self.get_list_display(request)
        return ALWAYS_SORTABLE

    @admin.display(description="volume (shares)", ordering="volume")
    def volume_grouped(self, obj):
        return grouped(obj.volume)

    @admin.display(description="amount (yuan)", ordering="amount")
    def amount_grouped(self, obj):
        return grouped(obj.amount, 2)

    def get_urls(self):
        export = path(
            "export/",
            self.admin_site.admin_view(partial(bar_export_view, self)),
            name="etfs_dailybar_export",
        )
        return [export, *super().get_urls()]
