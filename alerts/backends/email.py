"""Email backend: sends through Django's mail (EMAIL_BACKEND; console in development)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email

from alerts.backends.base import BaseBackend, render_text
from alerts.models import Notification, NotificationChannel


class EmailBackend(BaseBackend):
    """One plain-text email per notification to the channel's recipients."""

    @classmethod
    def validate_channel(cls, channel: NotificationChannel) -> dict[str, list[str]]:
        recipients = channel.email_list
        if not recipients:
            return {"emails": ["An email channel needs at least one recipient address."]}
        bad = []
        for address in recipients:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            return {"emails": [f"Not a valid email address: {', '.join(bad)}."]}
        return {}

    def build_message(self, notification: Notification) -> EmailMessage:
        return EmailMessage(
            subject=notification.title,
            body=render_text(notification),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=self.channel.email_list,
        )

    def post(self, message: EmailMessage) -> int | None:
        message.send(fail_silently=False)
        return None
