"""The asyncio twins accept every parameter of their sync twins, with the same defaults
(SPEC "asyncio parity"): for the constructor and for each public method."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import queues
import queues.aio


def missing_parameters(sync_cls: type, aio_cls: type) -> list[str]:
    """``method(param=default)`` for each parameter of ``sync_cls`` that ``aio_cls`` lacks or
    defaults differently; ``method()`` for a public method it lacks altogether."""
    missing = []
    for name, member in inspect.getmembers(sync_cls):
        if name.startswith("_") and name != "__init__":
            continue
        if not callable(member) or isinstance(member, type):
            continue
        twin = getattr(aio_cls, name, None)
        if twin is None:
            missing.append(f"{name}()")
            continue
        theirs = inspect.signature(twin).parameters
        for param in inspect.signature(member).parameters.values():
            other = theirs.get(param.name)
            if other is None or other.default != param.default or other.kind != param.kind:
                missing.append(f"{name}({param.name}={param.default!r})")
    return missing


def test_missing_parameters_sees_a_missing_method_and_a_changed_default() -> None:
    class Sync:
        def __init__(self, a: int, *, b: int = 1) -> None: ...
        def run(self, x: int = 0) -> None: ...
        def gone(self) -> None: ...

    class Aio:
        def __init__(self, a: int, *, b: int = 2) -> None: ...
        async def run(self, x: int = 0) -> None: ...

    assert missing_parameters(Sync, Aio) == ["__init__(b=1)", "gone()"]


@pytest.mark.parametrize("name", ["Producer", "Consumer", "Manager"])
def test_aio_twin_has_every_parameter_of_the_sync_twin(name: str) -> None:
    sync_cls: Any = getattr(queues, name)
    aio_cls: Any = getattr(queues.aio, name)
    assert missing_parameters(sync_cls, aio_cls) == []
