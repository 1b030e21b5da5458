"""The library's Redis steps as data, by concern (see queues.commands, which re-exports
them beside the handling and failure decisions): ``publishing``, ``reading``, ``moving``,
``replies``. Each ``*_call`` returns the ``(keys, args)`` of one Lua script call."""

from typing import Any

Call = tuple[list[str], list[Any]]
