"""Alerts retired from the rows counted for their kind and severity (``RetiredAlertCount``):
deleted by the retention, or a status alert moved on to another severity. ``/metrics``
counts the rows kept plus these, so its counters never drop, whatever the retention."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from django.db import IntegrityError, transaction
from django.db.models import F

from alerts.models import AlertKind, RetiredAlertCount

#: The kinds ``/metrics`` also counts per queue (dead-lettered) and per group (claimed).
PER_QUEUE_KINDS = frozenset({AlertKind.CLAIMED.value, AlertKind.DEAD_LETTERED.value})

#: (kind, severity, queue, group)
Key = tuple[str, str, str, str]


def retire(counts: Mapping[Key, int] | Iterable[tuple[Key, int]]) -> None:
    """Add ``counts`` to the retired counts. Call it in the transaction that deletes the
    rows or changes their severity, so that the two are seen together or not at all."""
    merged: Counter[Key] = Counter()
    for (kind, severity, queue, group), n in dict(counts).items():
        if kind not in PER_QUEUE_KINDS:
            queue = group = ""
        merged[(kind, severity, queue, group)] += n
    for (kind, severity, queue, group), n in merged.items():
        if n <= 0:
            continue
        key = {"kind": kind, "severity": severity, "queue": queue, "group": group}
        if RetiredAlertCount.objects.filter(**key).update(count=F("count") + n):
            continue
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction goes on
                RetiredAlertCount.objects.create(**key, count=n)
        except IntegrityError:  # another process created it since our update
            RetiredAlertCount.objects.filter(**key).update(count=F("count") + n)
