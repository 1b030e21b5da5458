"""The sync files generated from their asyncio source (tests/support/unasync_twins.py) are
current: a change to one twin without the other fails here."""

from __future__ import annotations

from tests.support import unasync_twins

SOURCE = "queues/aio/admin/pending.py"


def test_generated_sync_twins_are_current() -> None:
    stale = unasync_twins.stale()
    assert not stale, f"run `python -m tests.support.unasync_twins`; stale: {stale}"


def test_a_change_to_the_async_source_changes_the_generated_copy() -> None:
    source = (unasync_twins.ROOT / SOURCE).read_text(encoding="utf-8")
    checked_in = (unasync_twins.ROOT / unasync_twins.TWINS[SOURCE]).read_text(encoding="utf-8")
    changed = unasync_twins.generate(SOURCE, source.replace("count: int = 100", "count: int = 99"))
    assert changed != checked_in
    assert "count: int = 99" in changed
    assert "async def" not in changed and "await " not in changed
