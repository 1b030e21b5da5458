"""Library queues seeded straight into a private redis-server for the monitor benchmarks."""

from __future__ import annotations

import time

from tests.support.redis_process import RedisServer


def seed_queues(
    server: RedisServer,
    names: list[str],
    *,
    entries: int,
    groups: list[str],
    read: int = 0,
    acked: int = 0,
) -> list[str]:
    """Each of ``names`` a library queue (registered in ``sw:queues``) of ``entries`` JSON
    entries with ``groups``; with ``read``, each group's consumer "worker" is handed that
    many of them, of which the first ``acked`` are acknowledged and the rest stay pending
    (so every group has ages, consumers and lag to report). Pipelined."""
    client = server.client()
    pipe = client.pipeline(transaction=False)
    base = int(time.time() * 1000)  # explicit ids (now), so the acked ones can be named
    ids = [f"{base}-{n + 1}" for n in range(entries)]
    for name in names:
        key = f"sw:{{{name}}}:stream"
        for n, entry_id in enumerate(ids):
            payload = f'{{"n": {n}}}'
            pipe.xadd(key, {"payload": payload, "ctype": "json", "headers": "{}"}, id=entry_id)
        for group in groups:
            pipe.xgroup_create(key, group, id="0")
            if read:
                pipe.xreadgroup(group, "worker", {key: ">"}, count=read)
            if acked:
                pipe.xack(key, group, *ids[: min(acked, read)])
        pipe.sadd("sw:queues", name)
        if len(pipe) > 5000:
            pipe.execute()
    pipe.execute()
    client.close()
    return names
