"""A real 3-master Redis Cluster on loopback for tests, built with ``redis-cli --cluster create``."""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from tests.support.redis_process import RedisServer, wait_for


@dataclass(frozen=True)
class ClusterNode:
    """One master: its server and the hash slots it serves (inclusive ranges)."""

    server: RedisServer
    node_id: str
    slots: tuple[tuple[int, int], ...]

    def serves(self, slot: int) -> bool:
        return any(low <= slot <= high for low, high in self.slots)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too; Redis refuses > 55535."""
    for _ in range(1_000):
        port = random.randint(20_000, 45_000)
        if _port_free(port) and _port_free(port + 10_000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _cluster_info(server: RedisServer) -> dict:
    return dict(server.client().execute_command("CLUSTER INFO"))


class RedisClusterFixture:
    """``masters`` redis-server processes joined into one cluster (no replicas)."""

    def __init__(self, masters: int = 3) -> None:
        if shutil.which("redis-cli") is None:
            raise RuntimeError("redis-cli not found: apt-get install -y redis-tools")
        self.size = masters
        self.servers: list[RedisServer] = []
        self.nodes: list[ClusterNode] = []

    @property
    def url(self) -> str:
        """``redis+cluster://`` URL naming every master as a start-up node."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.servers)
        return f"redis+cluster://{hosts}"

    def start(self, timeout: float = 30.0) -> RedisClusterFixture:
        try:
            for _ in range(self.size):
                server = RedisServer(
                    port=cluster_port(),
                    extra_args=(
                        "--cluster-enabled",
                        "yes",
                        "--cluster-node-timeout",
                        "2000",
                    ),
                )
                # cluster-config-file is relative to --dir, so each node keeps its own
                server.extra_args += ("--cluster-config-file", str(server.dir / "nodes.conf"))
                self.servers.append(server.start())
            subprocess.run(
                [
                    "redis-cli",
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{s.port}" for s in self.servers),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
            for server in self.servers:
                wait_for(
                    lambda s=server: _cluster_info(s).get("cluster_state") == "ok",
                    timeout,
                    message=f"cluster_state:ok on port {server.port}",
                )
            self.nodes = self._read_nodes()
        except BaseException:
            self.close()
            raise
        return self

    def _read_nodes(self) -> list[ClusterNode]:
        by_port = {s.port: s for s in self.servers}
        # redis-py parses CLUSTER NODES into {"host:port@bus": {"node_id", "flags", "slots"}}
        reply = self.servers[0].client().execute_command("CLUSTER NODES")
        nodes = []
        for addr, row in reply.items():
            if "master" not in row["flags"]:
                continue
            port = int(addr.split("@", 1)[0].rsplit(":", 1)[1])
            slots = tuple((int(low), int(high)) for low, high in row["slots"])
            nodes.append(ClusterNode(by_port[port], row["node_id"], slots))
        return sorted(nodes, key=lambda n: min(s[0] for s in n.slots))

    def client(self, **kwargs) -> RedisCluster:
        """A cluster client (raw bytes replies unless told otherwise)."""
        return RedisCluster(host="127.0.0.1", port=self.servers[0].port, **kwargs)

    def node_of(self, key: str) -> ClusterNode:
        """The master that serves ``key`` (asked of the cluster itself: CLUSTER KEYSLOT)."""
        slot = int(self.servers[0].client().execute_command("CLUSTER KEYSLOT", key))
        for node in self.nodes:
            if node.serves(slot):
                return node
        raise LookupError(f"no master serves slot {slot} of {key!r}")

    def key_on(self, node: ClusterNode, prefix: str) -> str:
        """A queue name starting with ``prefix`` whose keys (hash tag ``{name}``) live on
        ``node``."""
        for index in range(10_000):
            name = f"{prefix}-{index}"
            if node.serves(int(self._slot(name))):
                return name
        raise LookupError(f"no name with prefix {prefix!r} lands on {node.node_id}")

    def _slot(self, tag: str) -> int:
        return int(key_slot(tag.encode()))

    def flush(self) -> None:
        """Empty every master."""
        for server in self.servers:
            server.client().flushall()

    def close(self) -> None:
        for server in self.servers:
            with contextlib.suppress(OSError, redis.RedisError, TimeoutError):
                server.close()
        self.servers.clear()
