"""Find a message by its entry id: where it is now in each queue it may belong to (stream,
pending lists and owners, dead letters) and the alerts that name it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps

from dashboard.catalog.models import QueueDefinition
from dashboard.selectors.live import REDIS_ERRORS
from dashboard.selectors.pending import EntryLocation, locate_entry
from queues.exceptions import QueueNotFound

#: Without a queue named, every enabled queue is searched when there are at most this many
#: (each costs a few Redis round trips); beyond, the queues alerts name, or the one chosen.
SEARCH_ALL_MAX = 50
#: Alerts listed per search (newest first).
MAX_ALERTS = 50


def is_entry_id(value: str) -> bool:
    """'1700000000000-0' (milliseconds-sequence), as Redis stream ids are written."""
    head, dash, tail = value.partition("-")
    return bool(dash) and head.isdigit() and tail.isdigit() and len(value) <= 41


@dataclass(frozen=True)
class QueueFinding:
    queue: str
    location: EntryLocation | None
    error: str = ""

    @property
    def found(self) -> bool:
        loc = self.location
        return bool(loc and (loc["in_stream"] or loc["pending"] or loc["dead_letter"]))


@dataclass(frozen=True)
class FindResult:
    entry_id: str
    findings: list[QueueFinding] = field(default_factory=list)
    alerts: list[Any] = field(default_factory=list)
    searched: int = 0
    #: Set when no queue was named and there are too many to search them all.
    too_many: int = 0


def _alerts(entry_id: str, queue: str) -> list[Any]:
    # The dashboard never imports the alerts app (it may be left out): asked for by name.
    if not apps.is_installed("alerts"):
        return []
    alert = apps.get_model("alerts", "Alert")
    found = alert.objects.filter(message_id=entry_id)
    if queue:
        found = found.filter(queue=queue)
    return list(found.order_by("-created_at", "-id")[:MAX_ALERTS])


def find_message(*, entry_id: str, queue: str = "") -> FindResult:
    """Where ``entry_id`` is in ``queue`` (or, with none named, in the queues alerts name
    for it, or in every enabled queue while there are at most SEARCH_ALL_MAX)."""
    alerts = _alerts(entry_id, queue)
    definitions = QueueDefinition.objects.filter(enabled=True).order_by("name")
    named = {a.queue for a in alerts if a.queue}
    if queue:
        candidates = list(QueueDefinition.objects.filter(name=queue))
    else:
        total = definitions.count()
        if total <= SEARCH_ALL_MAX:
            candidates = list(definitions)
        else:
            candidates = list(definitions.filter(name__in=named))
            if not candidates:
                return FindResult(entry_id, alerts=alerts, too_many=total)
    findings = []
    for definition in candidates:
        try:
            location: EntryLocation | None = locate_entry(definition=definition, entry_id=entry_id)
            error = ""
        except QueueNotFound:
            location, error = None, "no stream in Redis"
        except LookupError:  # a group went away while it was read
            location, error = None, "changed while it was read: search again"
        except REDIS_ERRORS as exc:
            location, error = None, f"unreadable ({type(exc).__name__})"
        finding = QueueFinding(definition.name, location, error)
        asked = definition.name == queue or definition.name in named
        # where it is, the queues that could not be read, and those asked for by name or
        # named by an alert (a queue without a stream cannot hold it: left out otherwise)
        unreadable = error and location is None and not error.startswith("no stream")
        if finding.found or unreadable or asked:
            findings.append(finding)
    return FindResult(entry_id, findings, alerts, searched=len(candidates))
