from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "etfsync"
admin.site.site_title = "etfsync"
admin.site.index_title = "ETF data and sync runs"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("etfs.api_urls")),
]
