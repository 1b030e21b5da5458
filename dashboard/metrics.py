"""Prometheus text exposition of the overview numbers (per queue and per group)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dashboard.selectors import QueueRow

STATUS_VALUE = {"ok": 0, "warn": 1, "alert": 2}
TREND_VALUE = {"OK": 0, "WARN": 1, "STALL": 2, "STOP": 3, "REWIND": 4}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


def render_metrics(rows: Iterable[QueueRow], monitor: dict[str, Any]) -> str:
    families: dict[str, tuple[str, list[str]]] = {}

    def add(name: str, help_text: str, labels: dict[str, str], value: float | None) -> None:
        if value is None:
            return
        families.setdefault(name, (help_text, []))[1].append(f"{name}{_labels(**labels)} {value:g}")

    for row in rows:
        s = row.snapshot
        q = {"queue": row.name}
        add("streamwarden_queue_up", "1 if the queue could be read", q, 0 if row.error else 1)
        add("streamwarden_queue_length", "Entries in the stream", q, s["length"])
        add(
            "streamwarden_queue_dead_letters",
            "Entries in the dead-letter stream",
            q,
            s["dead_letters"],
        )
        add(
            "streamwarden_queue_status",
            "Threshold status 0 ok, 1 warn, 2 alert",
            q,
            STATUS_VALUE.get(s["status"], 2),
        )
        add(
            "streamwarden_queue_groups_omitted",
            "Groups beyond STREAMWARDEN_MAX_GROUPS, not exported per group",
            q,
            s.get("groups_omitted", 0),
        )
        for g in s["groups"]:
            gl = {"queue": row.name, "group": g["name"]}
            add(
                "streamwarden_group_up",
                "1 if the group could be read",
                gl,
                0 if g.get("unreadable") else 1,
            )
            add("streamwarden_group_lag", "Undelivered entries of the group", gl, g["lag"])
            add("streamwarden_group_pending", "Delivered, unacknowledged entries", gl, g["pending"])
            add("streamwarden_group_consumers", "Consumers of the group", gl, g["consumers"])
            add(
                "streamwarden_group_active_consumers",
                "Consumers seen recently",
                gl,
                g["active_consumers"],
            )
            add(
                "streamwarden_group_oldest_pending_seconds",
                "Age of the oldest pending entry",
                gl,
                None if g["oldest_pending_ms"] is None else g["oldest_pending_ms"] / 1000,
            )
            add(
                "streamwarden_group_oldest_undelivered_seconds",
                "Age of the oldest undelivered entry",
                gl,
                None if g["oldest_undelivered_ms"] is None else g["oldest_undelivered_ms"] / 1000,
            )
            add(
                "streamwarden_group_duplicate_deliveries",
                "Deliveries not run again: already processed or running elsewhere",
                gl,
                g.get("duplicates", 0),
            )
            add(
                "streamwarden_group_status",
                "Threshold status 0 ok, 1 warn, 2 alert",
                gl,
                STATUS_VALUE.get(g["status"], 2),
            )
            add(
                "streamwarden_group_trend",
                "Trend 0 OK, 1 WARN, 2 STALL, 3 STOP, 4 REWIND",
                gl,
                TREND_VALUE.get(g["trend"], 0),
            )
    add(
        "streamwarden_monitor_poll_commands",
        "Redis commands of the last poll",
        {},
        monitor.get("poll_commands"),
    )
    add(
        "streamwarden_monitor_poll_seconds",
        "Duration of the last poll",
        {},
        None if monitor.get("poll_ms") is None else monitor["poll_ms"] / 1000,
    )
    add(
        "streamwarden_monitor_cycle_seconds",
        "Duration of the last full monitor cycle",
        {},
        None if monitor.get("cycle_ms") is None else monitor["cycle_ms"] / 1000,
    )
    for phase, ms in (monitor.get("phases") or {}).items():
        add(
            "streamwarden_monitor_phase_seconds",
            "Duration of one phase of the last monitor cycle",
            {"phase": str(phase)},
            ms / 1000,
        )
    add(
        "streamwarden_monitor_redis_up",
        "1 if the monitor reaches Redis",
        {},
        None if monitor.get("redis_ok") is None else int(bool(monitor["redis_ok"])),
    )
    lines: list[str] = []
    for name, (help_text, samples) in families.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]
    return "\n".join(lines) + "\n"
