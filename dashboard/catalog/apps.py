"""The catalogue app: queue definitions and thresholds the dashboard watches."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "dashboard.catalog"
    # The label the app had in the library package: tables (queues_queuedefinition,
    # queues_threshold), django_migrations rows and permission codenames depend on it.
    label = "queues"
    verbose_name = "Queues"
    default_auto_field = "django.db.models.BigAutoField"
