"""Fixtures of the scale-out tests: a real Sentinel set (the 3-master Redis Cluster,
``redis_cluster``, is in tests/conftest.py).

The tests here are about the cluster or Sentinel themselves; a module marked
``runs_on("cluster")`` gets ``redis_url``, ``redis_client`` and ``queue_name`` on the
cluster. The library's behaviour tests run on the cluster where they live, in tests/queues,
marked ``runs_on("single", "cluster")``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The library tests' fixtures, for the cluster tests here that publish and consume.
from tests.queues.conftest import manager, producer, recorder, runner  # noqa: F401
from tests.support.redis_sentinel import RedisSentinelFixture


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinelFixture]:
    """One master, one replica, three Sentinels (quorum 2); torn down after the session."""
    sentinel = RedisSentinelFixture().start()
    try:
        yield sentinel
    finally:
        sentinel.close()
