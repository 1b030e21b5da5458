from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from alerts import (
            checks,  # noqa: F401 - registers the system checks
            receivers,
        )

        receivers.connect()  # listens to the monitor, which never imports this app
