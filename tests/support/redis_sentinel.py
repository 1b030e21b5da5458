"""A real Sentinel set on loopback for tests: 1 master, 1 replica, 3 Sentinels (quorum 2).

Failover is fast (down-after-milliseconds 1000, failover-timeout 3000) and can be forced
(``failover()``: SENTINEL FAILOVER, the old master becomes a replica) or provoked
(``kill_master()``: SIGKILL, the Sentinels agree it is down and promote the replica).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import redis

from tests.support.redis_process import RedisServer, free_port, wait_for

SERVICE = "swmaster"
#: Replicas sync without waiting for more replicas to join (default: 5 s of waiting).
REPLICATION_ARGS = ("--repl-diskless-sync-delay", "0", "--appendonly", "no")


class SentinelProcess:
    """One ``redis-server --sentinel`` with its own config file (Sentinel rewrites it)."""

    def __init__(self, master_port: int, quorum: int, down_after_ms: int, failover_ms: int):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"sw-sentinel-{self.port}-"))
        self.config = self.dir / "sentinel.conf"
        self.config.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            "protected-mode no\n"
            f"dir {self.dir}\n"
            f"logfile {self.dir / 'sentinel.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} {quorum}\n"
            f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}\n"
            f"sentinel failover-timeout {SERVICE} {failover_ms}\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SentinelProcess:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: apt-get install -y redis-server")
        self.proc = subprocess.Popen(
            [binary, str(self.config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self.client().ping(), 10, message=f"sentinel on {self.port} answers")
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=1.0
        )

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisSentinelFixture:
    """A master, a replica and three Sentinels watching them as service ``swmaster``."""

    def __init__(
        self,
        *,
        sentinels: int = 3,
        quorum: int = 2,
        down_after_ms: int = 1000,
        failover_ms: int = 3000,
    ) -> None:
        self.service = SERVICE
        self.down_after_ms = down_after_ms
        self.failover_ms = failover_ms
        self.quorum = quorum
        self.sentinel_count = sentinels
        self.servers: list[RedisServer] = []
        self.sentinels: list[SentinelProcess] = []

    @property
    def url(self) -> str:
        """``redis+sentinel://`` URL naming every Sentinel and the service."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}/0"

    def start(self, timeout: float = 30.0) -> RedisSentinelFixture:
        try:
            master = RedisServer(extra_args=REPLICATION_ARGS).start()
            self.servers.append(master)
            replica = RedisServer(
                extra_args=(*REPLICATION_ARGS, "--replicaof", "127.0.0.1", str(master.port))
            ).start()
            self.servers.append(replica)
            wait_for(self._replica_in_sync, timeout, message="replica in sync")
            for _ in range(self.sentinel_count):
                self.sentinels.append(
                    SentinelProcess(
                        master.port, self.quorum, self.down_after_ms, self.failover_ms
                    ).start()
                )
            wait_for(self.ready, timeout, message="sentinels see each other and the replica")
        except BaseException:
            self.close()
            raise
        return self

    # ------------------------------------------------------------------ state

    def master_port(self) -> int:
        """The master's port according to the first Sentinel that answers."""
        for sentinel in self.sentinels:
            try:
                reply = sentinel.client().sentinel_get_master_addr_by_name(self.service)
            except redis.ConnectionError:
                continue
            if reply:
                return int(reply[1])
        raise LookupError(f"no Sentinel knows a master for {self.service!r}")

    def master(self) -> RedisServer:
        port = self.master_port()
        return next(s for s in self.servers if s.port == port)

    def replica(self) -> RedisServer:
        port = self.master_port()
        return next(s for s in self.servers if s.port != port)

    def _replica_in_sync(self) -> bool:
        replicas = [s for s in self.servers if s.running and s.port != self._role_master()]
        for server in replicas:
            info = server.client().info("replication")
            if info.get("role") != "slave" or info.get("master_link_status") != "up":
                return False
        return bool(replicas)

    def _role_master(self) -> int | None:
        for server in self.servers:
            if server.running and server.client().info("replication").get("role") == "master":
                return server.port
        return None

    def ready(self) -> bool:
        """Every Sentinel knows the other Sentinels and a healthy replica, and all agree on
        a master that really is one; the replica is in sync (so a failover can happen)."""
        ports = set()
        for sentinel in self.sentinels:
            client = sentinel.client()
            master = client.sentinel_master(self.service)
            if master.get("is_master_down") or "s_down" in str(master.get("flags", "")):
                return False
            if int(master.get("num-other-sentinels", 0)) < len(self.sentinels) - 1:
                return False
            replicas = client.sentinel_slaves(self.service)
            healthy = [r for r in replicas if "down" not in str(r.get("flags", ""))]
            if not healthy:
                return False
            ports.add(int(master["port"]))
        return len(ports) == 1 and ports == {self._role_master()} and self._replica_in_sync()

    # ------------------------------------------------------------------ failover

    def failover(self, timeout: float = 20.0) -> tuple[int, int]:
        """Force a failover (SENTINEL FAILOVER): the replica becomes master, the old master
        a replica. Returns (old master port, new master port) once the set is ready again."""
        old = self.master_port()
        wait_for(self.ready, timeout, message="set ready before the failover")
        self.sentinels[0].client().sentinel_failover(self.service)
        wait_for(lambda: self.master_port() != old, timeout, message="new master elected")
        wait_for(self.ready, timeout, message="set ready after the failover")
        return old, self.master_port()

    def kill_master(self, timeout: float = 20.0) -> tuple[int, int]:
        """SIGKILL the master, wait for the Sentinels to promote the replica, then restart
        the old master (it comes back as a replica). Returns (old port, new port)."""
        old_server = self.master()
        old = old_server.port
        old_server.kill()
        wait_for(lambda: self.master_port() != old, timeout, message="replica promoted")
        old_server.start()
        wait_for(self.ready, timeout, message="old master back as a replica")
        return old, self.master_port()

    def wait_ready(self, timeout: float = 20.0) -> None:
        wait_for(self.ready, timeout, message="sentinel set ready")

    def flush(self) -> None:
        """Empty the master (the replica follows)."""
        self.master().client().flushall()

    def close(self) -> None:
        for sentinel in self.sentinels:
            sentinel.close()
        for server in self.servers:
            with contextlib.suppress(OSError, redis.RedisError, TimeoutError):
                server.close()
        self.sentinels.clear()
        self.servers.clear()
