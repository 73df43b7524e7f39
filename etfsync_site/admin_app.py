"""Django's admin, its pages registered when something needs them rather than at every start-up.

Django's AdminConfig imports every app's ``admin`` module in its ``ready()``: for etfsync the
admin's pages, exports and buttons, 0.14 s of imports at every start-up, of which a sync command
needs only the sync modules it imports anyway (it starts 0.05 s sooner without them). Here they
are registered by the URL configuration (etfsync_site/urls.py: the web server, the test client)
and by the admin's system check, which discovers them before it looks at them, so ``manage.py
check`` still checks every ModelAdmin.
"""

from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks


def check_discovered_admin(app_configs, **kwargs):
    """Django's check of every admin site, after the sites' pages are registered."""
    admin.autodiscover()
    return check_admin_app(app_configs, **kwargs)


class AdminConfig(SimpleAdminConfig):
    def ready(self):
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(check_discovered_admin, checks.Tags.admin)
