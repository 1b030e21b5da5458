"""Library queues seeded straight into a private redis-server for the monitor benchmarks."""

from __future__ import annotations

from tests.support.redis_process import RedisServer


def seed_queues(
    server: RedisServer, names: list[str], *, entries: int, groups: list[str], read: int = 0
) -> list[str]:
    """Each of ``names`` a library queue (registered in ``sw:queues``) of ``entries`` JSON
    entries with ``groups``; with ``read``, each group's consumer "worker" holds that many
    of them pending (so every group has ages, consumers and lag to report). Pipelined."""
    client = server.client()
    pipe = client.pipeline(transaction=False)
    for name in names:
        key = f"sw:{{{name}}}:stream"
        for n in range(entries):
            pipe.xadd(key, {"payload": f'{{"n": {n}}}', "ctype": "json", "headers": "{}"})
        for group in groups:
            pipe.xgroup_create(key, group, id="0")
            if read:
                pipe.xreadgroup(group, "worker", {key: ">"}, count=read)
        pipe.sadd("sw:queues", name)
        if len(pipe) > 5000:
            pipe.execute()
    pipe.execute()
    client.close()
    return names
