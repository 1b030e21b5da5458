"""The effectively-once app: add ``queues.contrib.django`` to INSTALLED_APPS."""

from django.apps import AppConfig


class OnceConfig(AppConfig):
    name = "queues.contrib.django"
    label = "queues_once"
    verbose_name = "Queues: effectively once"
    default_auto_field = "django.db.models.BigAutoField"
