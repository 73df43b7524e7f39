"""URLs of the JSON API, mounted at /api/ by the site's urls."""

from django.urls import path, re_path

from . import api

app_name = "etfs_api"

urlpatterns = [
    path("sync/etf/lists", api.sync_etf_lists, name="sync-etf-lists"),
    path("sync/etf/prices", api.sync_etf_prices, name="sync-etf-prices"),
    path("sync/runs", api.run_list, name="run-list"),
    path("sync/runs/<int:run_id>", api.run_detail, name="run-detail"),
    path("etfs/summary", api.etf_summary, name="etf-summary"),
    path("openapi.json", api.openapi, name="openapi"),
    # Anything else under /api/ answers in JSON too, not with the HTML 404 page.
    re_path(r"^(?P<path>.*)$", api.not_found),
]
