"""Errors of the alerts app."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class AlertsError(Exception):
    """Base class of every error raised by the alerts app."""


class AlertStateError(AlertsError, ValueError):
    """The requested lifecycle change is not allowed from the alert's current state."""


class BackendConfigurationError(AlertsError, ImproperlyConfigured):
    """A notification channel names a backend that cannot be imported or used."""


class DeliveryError(AlertsError):
    """A notification could not be delivered on this attempt (the caller retries)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class SilenceError(AlertsError, ValueError):
    """A silence cannot be created as asked; ``fields`` names what to correct."""

    def __init__(self, message: str, *, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields
