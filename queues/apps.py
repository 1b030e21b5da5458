"""Django glue for the queue library: queue definitions and thresholds (loaded only by Django)."""

from django.apps import AppConfig


class QueuesConfig(AppConfig):
    name = "queues"
    verbose_name = "Queues"
    default_auto_field = "django.db.models.BigAutoField"
