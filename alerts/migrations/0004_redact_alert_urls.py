"""Redact the Redis URLs that older versions stored raw in alert rows (URL, fingerprint,
summary), and note the backend allowlist in the channel's help text."""

from typing import Any

from django.db import migrations, models
from django.utils import timezone

from queues.redact import redact_url

REDIS_UNREACHABLE = "redis_unreachable"
ACTIVE = ("open", "acknowledged")


def redact_alerts(apps: Any, schema_editor: Any) -> None:
    alert_model = apps.get_model("alerts", "Alert")
    active_fingerprints: set[str] = set()
    for alert in alert_model.objects.exclude(redis_url="").order_by("-id").iterator():
        redacted = redact_url(alert.redis_url)
        fields: dict[str, Any] = {"redis_url": redacted}
        if alert.kind == REDIS_UNREACHABLE:
            fields["fingerprint"] = f"{REDIS_UNREACHABLE}:{redacted}"
            fields["summary"] = f"Redis unreachable: {redacted}"[:500]
            if alert.state in ACTIVE:
                # Two raw URLs that differ only in their secret become one fingerprint: keep
                # the newest active alert, resolve the older ones (one active per fingerprint).
                if fields["fingerprint"] in active_fingerprints:
                    fields.update(state="resolved", resolved_at=timezone.now())
                active_fingerprints.add(fields["fingerprint"])
        alert_model.objects.filter(pk=alert.pk).update(**fields)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0003_claim_storm"),
    ]

    operations = [
        migrations.RunPython(redact_alerts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="notificationchannel",
            name="backend",
            field=models.CharField(
                default="alerts.backends.webhook.WebhookBackend",
                help_text=(
                    "Dotted path of a backend class: alerts.backends.webhook.WebhookBackend, "
                    "alerts.backends.email.EmailBackend, or another class listed in the "
                    "STREAMWARDEN_NOTIFICATION_BACKENDS setting (nothing else is imported)."
                ),
                max_length=200,
            ),
        ),
    ]
