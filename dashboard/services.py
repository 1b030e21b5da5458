"""Operator actions on queues: permission check, the library call, an audit-log row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from dashboard.catalog.models import QueueDefinition
from dashboard.models import AuditLog
from dashboard.monitor.library import manager_for
from queues.keys import queue_keys, validate_name

OPERATE = "queues.operate_queue"
DESTROY = "queues.destroy_queue"
#: Message data (dead-letter payloads, plain stream entries) is often personal: shown only
#: with this permission; operating a queue does not include it.
VIEW_PAYLOADS = "queues.view_payloads"

User = AbstractBaseUser | AnonymousUser


class ActionFailed(Exception):
    """The library refused or Redis failed; the message is safe to show."""


def _act(
    *,
    user: Any,
    permission: str,
    action: str,
    definition: QueueDefinition,
    target: str,
    details: dict[str, Any],
    call: Callable[[Any], Any],
) -> Any:
    username = user.get_username() if getattr(user, "is_authenticated", False) else ""
    if not user.has_perm(permission):
        AuditLog.objects.create(
            user=user if username else None,
            username=username,
            action=action,
            target=target,
            details={**details, "denied": permission},
            ok=False,
        )
        raise PermissionDenied(f"{action} needs the {permission} permission")
    if definition.is_plain:
        # The dashboard only watches plain streams: their data belongs to other services.
        raise ActionFailed(
            f"{action} is not available for {definition.name}: a plain stream is watched "
            "read-only (actions need a StreamWarden queue)"
        )
    manager = manager_for(definition.effective_redis_url())
    try:
        result = call(manager)
    except Exception as exc:
        AuditLog.objects.create(
            user=user,
            username=username,
            action=action,
            target=target,
            details={**details, "error": f"{type(exc).__name__}: {exc}"},
            ok=False,
        )
        raise ActionFailed(f"{action} failed: {type(exc).__name__}: {exc}") from exc
    AuditLog.objects.create(
        user=user,
        username=username,
        action=action,
        target=target,
        details={
            **details,
            "result": result if isinstance(result, int | str | None) else str(result),
        },
    )
    return result


def _name(value: str, what: str) -> str:
    """``value`` exactly as given (never trimmed: " billing" and "billing" are two groups)."""
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValidationError({what: f"A {what} name of 1 to 200 characters is required."})
    return value


def _entry_id(value: str) -> str:
    value = (value or "").strip()
    head, _, tail = value.partition("-")
    if value in {"$", "0"} or (head.isdigit() and (not tail or tail.isdigit())):
        return value
    raise ValidationError({"id": "An entry id like 1700000000000-0, 0 or $."})


def group_create(*, user: Any, definition: QueueDefinition, group: str, start: str = "$") -> None:
    group, start = _name(group, "group"), _entry_id(start)
    _act(
        user=user,
        permission=OPERATE,
        action="group.create",
        definition=definition,
        target=f"{definition.name}/{group}",
        details={"group": group, "start": start},
        call=lambda m: m.create_group(definition.queue_name, group, start=start),
    )
    _add_watched(definition, group)  # created from the page: shown, not filtered out


def _add_watched(definition: QueueDefinition, group: str) -> bool:
    """Add ``group`` to a definition that watches a list of groups; False if already shown."""
    if not definition.groups or group in definition.groups:
        return False
    definition.groups = [*definition.groups, group]
    definition.save(update_fields=["groups", "updated_at"])
    return True


def group_watch(*, user: Any, definition: QueueDefinition, group: str) -> None:
    """Add a group that exists in Redis to the definition's watched groups (one click from
    the queue page: groups outside the list are listed there, marked unwatched)."""
    group = _name(group, "group")
    username = user.get_username() if getattr(user, "is_authenticated", False) else ""
    target = f"{definition.name}/{group}"
    if not user.has_perm(OPERATE):
        AuditLog.objects.create(
            user=user if username else None,
            username=username,
            action="group.watch",
            target=target,
            details={"group": group, "denied": OPERATE},
            ok=False,
        )
        raise PermissionDenied(f"group.watch needs the {OPERATE} permission")
    added = _add_watched(definition, group)
    AuditLog.objects.create(
        user=user,
        username=username,
        action="group.watch",
        target=target,
        details={"group": group, "result": "watched" if added else "already watched"},
    )


def group_delete(*, user: Any, definition: QueueDefinition, group: str) -> None:
    group = _name(group, "group")
    _act(
        user=user,
        permission=DESTROY,
        action="group.delete",
        definition=definition,
        target=f"{definition.name}/{group}",
        details={"group": group},
        call=lambda m: m.delete_group(definition.queue_name, group),
    )


def group_set_id(*, user: Any, definition: QueueDefinition, group: str, entry_id: str) -> None:
    group, entry_id = _name(group, "group"), _entry_id(entry_id)
    _act(
        user=user,
        permission=OPERATE,
        action="group.set_id",
        definition=definition,
        target=f"{definition.name}/{group}",
        details={"group": group, "id": entry_id},
        call=lambda m: _set_group_id(m, definition.queue_name, group, entry_id),
    )


def _set_group_id(manager: Any, queue: str, group: str, entry_id: str) -> None:
    """``$`` becomes the stream's last id with its entries-added count as entries-read:
    a bare ``XGROUP SETID $`` leaves Redis unable to count the group's lag ("–" beside an
    oldest undelivered age). Entries added between the two commands stay undelivered —
    the safe side: none is skipped that the operator did not see."""
    if entry_id == "$":
        info = manager.client.xinfo_stream(queue_keys(queue).stream)
        last, added = info.get("last-generated-id"), info.get("entries-added")
        if last is not None and added is not None:
            last = last.decode() if isinstance(last, bytes) else str(last)
            manager.set_group_id(queue, group, last, entries_read=int(added))
            return
    manager.set_group_id(queue, group, entry_id)


def consumer_delete(
    *,
    user: Any,
    definition: QueueDefinition,
    group: str,
    consumer: str,
    force: bool = False,
    hand_to: str | None = None,
    confirm: str = "",
) -> Any:
    """Delete a consumer. One that still owns pending entries is refused (ActionFailed whose
    cause, ConsumerBusy, carries the count at that moment) unless ``hand_to`` names the
    consumer that takes them over (none lost), or ``force`` with ``confirm`` equal to the
    queue's name drops them from the group. Returns the pending entries it owned."""
    group, consumer = _name(group, "group"), _name(consumer, "consumer")
    if hand_to is not None:
        hand_to = _name(hand_to, "hand_to")
        if hand_to == consumer:
            raise ValidationError({"hand_to": "Hand the entries to another consumer."})
        try:
            validate_name(hand_to, "consumer name")
        except ValueError as exc:
            raise ValidationError({"hand_to": str(exc)}) from exc
    if force and confirm != definition.name:
        raise ValidationError(
            {"confirm": f"Type the queue name {definition.name!r} to drop the pending entries."}
        )
    return _act(
        user=user,
        permission=DESTROY,
        action="consumer.delete",
        definition=definition,
        target=f"{definition.name}/{group}/{consumer}",
        # names may hold "/": the target is for reading, the details say which is which
        details={"group": group, "consumer": consumer, "force": force, "hand_to": hand_to},
        call=lambda m: m.delete_consumer(
            definition.queue_name, group, consumer, force=force, hand_to=hand_to
        ),
    )


def queue_trim(*, user: Any, definition: QueueDefinition) -> Any:
    """Remove the entries every group has received and acknowledged (never an undelivered
    or pending one — the library refuses that); returns how many went."""
    return _act(
        user=user,
        permission=DESTROY,
        action="queue.trim",
        definition=definition,
        target=definition.name,
        details={},
        call=lambda m: m.trim(definition.queue_name),
    )


def queue_purge(*, user: Any, definition: QueueDefinition, dead: bool = False) -> Any:
    """Remove every entry (groups stay); with ``dead`` the dead letters too."""
    return _act(
        user=user,
        permission=DESTROY,
        action="queue.purge",
        definition=definition,
        target=definition.name,
        details={"dead": dead},
        call=lambda m: m.purge(definition.queue_name, dead=dead),
    )


def _ids(ids: list[str] | None) -> list[str] | None:
    if ids is None:
        return None
    for value in ids:
        head, _, tail = value.partition("-")
        if not (head.isdigit() and (not tail or tail.isdigit())):
            raise ValidationError(
                {"ids": f"{value[:80]!r} is not an entry id like 1700000000000-0."}
            )
    return list(ids)


def dead_letters_replay(*, user: Any, definition: QueueDefinition, ids: list[str] | None) -> Any:
    ids = _ids(ids)
    return _act(
        user=user,
        permission=OPERATE,
        action="dlq.replay",
        definition=definition,
        target=definition.name,
        details={"ids": ids if ids is not None else "all"},
        call=lambda m: m.replay_dead_letters(definition.queue_name, ids=ids),
    )


def dead_letters_delete(*, user: Any, definition: QueueDefinition, ids: list[str] | None) -> Any:
    ids = _ids(ids)
    return _act(
        user=user,
        permission=DESTROY,
        action="dlq.delete",
        definition=definition,
        target=definition.name,
        details={"ids": ids if ids is not None else "all"},
        call=lambda m: m.delete_dead_letters(definition.queue_name, ids=ids),
    )
