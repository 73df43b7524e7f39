"""Template filters of the admin pages and what the front page shows above the app list."""

from django import template
from django.utils.http import urlencode

from etfs.admin import display
from etfs.dashboard import dashboard

register = template.Library()

register.filter("grouped", display.grouped)
register.filter("number", display.number)
register.filter("shares", display.shares)
register.filter("factor", display.factor)
register.filter("short_duration", display.short_duration)
register.filter("status_badge", display.status_badge)
register.filter("run_progress_cell", display.run_progress_cell)


@register.simple_tag
def switch_url(current: dict, **changes) -> str:
    """ "?period=week&adjust=qfq&from=…": the current choices of an ETF page with some changed."""
    query = {**current, **changes}
    return "?" + urlencode({key: value for key, value in query.items() if value})


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "")


@register.filter
def progress_bar(run):
    return display.progress_bar(run.items_done, run.items_total)


@register.simple_tag
def etfsync_overview() -> dict:
    return dashboard()
