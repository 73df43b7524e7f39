from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

# The admin's pages, registered here rather than at start-up (etfsync_site/admin_app.py).
admin.autodiscover()

admin.site.site_header = "etfsync"
admin.site.site_title = "etfsync"
admin.site.index_title = "ETF data and sync runs"
# The app list beside every page takes 300 px the wide run and security lists need at 1,280 px;
# the breadcrumbs and the front page lead everywhere it did.
admin.site.enable_nav_sidebar = False
# The admin is the site: no "View site" link to a page that does not exist, and the bare
# address leads to the admin.
admin.site.site_url = None

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("api/", include("etfs.api")),
]
