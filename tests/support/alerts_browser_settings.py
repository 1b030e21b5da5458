"""Settings of the alerts browser test's subprocesses: short grouping window and backoff."""

from dashboard.settings.test import *  # noqa: F403

STREAMWARDEN_ALERTS_GROUP_WINDOW = 1.0
STREAMWARDEN_NOTIFY_BACKOFF = (0.2, 1.0)
