"""Create the global default thresholds row, so every queue has sane levels from day one."""

from django.db import migrations

DEFAULTS = {
    "active_consumers_alert": 0,
    "lag_warn": 1000,
    "lag_alert": 10000,
    "pending_warn": 1000,
    "pending_alert": 10000,
    "oldest_pending_warn": 60,
    "oldest_pending_alert": 300,
    "dead_letters_warn": 1,
    "dead_letters_alert": 100,
}


def create_default(apps, schema_editor):
    threshold = apps.get_model("queues", "Threshold")
    if not threshold.objects.filter(queue__isnull=True).exists():
        threshold.objects.create(queue=None, **DEFAULTS)


def remove_default(apps, schema_editor):
    apps.get_model("queues", "Threshold").objects.filter(queue__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("queues", "0001_initial")]
    operations = [migrations.RunPython(create_default, remove_default)]
