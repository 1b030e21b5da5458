"""Dependencies run one way: library <- dashboard <- alerts. The dashboard (its monitor
included) never imports the alerts app; alerts listens to the monitor's signals."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import dashboard
from alerts.models import Alert
from dashboard.catalog.models import QueueDefinition, Threshold
from dashboard.models import MonitorState
from dashboard.monitor import signals
from dashboard.monitor.engine import Monitor
from dashboard.monitor.lease import Lease
from dashboard.monitor.library import reset_managers
from tests.support.queue_data import create_group, publish

SIGNALS = [
    "statuses_changed",
    "claim_storm_changed",
    "redis_reachability",
    "events_due",
    "claims_inferred",
    "cycle_recorded",
    "claims_wanted",
]

DASHBOARD = Path(dashboard.__file__).parent


def imported_modules(path: Path) -> list[str]:
    """Modules ``path`` imports, and those named in ``__import__("...")`` / ``import_module``
    calls with a literal (string imports hide a dependency as well as an import does)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", ""))
            in {"__import__", "import_module"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
    return names


def test_the_dashboard_never_imports_the_alerts_app() -> None:
    offenders = [
        f"{path.relative_to(DASHBOARD)}: {name}"
        for path in sorted(DASHBOARD.rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] == "alerts"
    ]
    assert offenders == []


@pytest.mark.django_db(transaction=True)
def test_the_monitor_runs_without_listeners_and_alerts_hear_it_through_signals(
    redis_url: str, queue_name: str, settings: Any
) -> None:
    settings.STREAMWARDEN_SNAPSHOT_INTERVAL = 0
    reset_managers()
    queue = QueueDefinition.objects.create(name="orders", queue=queue_name)
    Threshold.objects.create(queue=queue, lag_warn=5, lag_alert=100)
    publish(redis_url, queue_name, [{"n": i} for i in range(10)])
    create_group(redis_url, queue_name, "billing")

    every = [getattr(signals, name) for name in SIGNALS]
    saved = [list(signal.receivers) for signal in every]
    try:
        for signal in every:  # a dashboard without the alerts app
            signal.receivers.clear()
            signal.sender_receivers_cache.clear()
        alone = Monitor(lease=Lease(ttl=5), name="alone")
        alone.cycle()
        alone.shutdown()
        assert alone.latest["orders"].status in {"warn", "alert"}
        assert MonitorState.objects.get().queues == 1
        assert not Alert.objects.exists()
    finally:
        for signal, receivers in zip(every, saved, strict=True):
            signal.receivers[:] = receivers
            signal.sender_receivers_cache.clear()

    heard = Monitor(lease=Lease(ttl=5), name="heard")
    heard.cycle()
    heard.shutdown()
    alert = Alert.objects.get(kind="threshold", queue="orders", group="")
    assert alert.severity == heard.latest["orders"].status
    reset_managers()
