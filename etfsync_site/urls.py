from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "etfsync"
admin.site.site_title = "etfsync"
admin.site.index_title = "ETF data and sync runs"
# The app list beside every page takes 300 px the wide run and security lists need at 1,280 px;
# the breadcrumbs and the front page lead everywhere it did.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("etfs.api")),
]
