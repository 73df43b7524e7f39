from django.apps import AppConfig


class EtfsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "etfs"
    verbose_name = "ETFs"
