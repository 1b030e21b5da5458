"""Read-ahead: send the next read before handling the batch in hand, take its reply after.

A consumer that handles a batch and only then asks for the next one leaves Redis idle while
Python works and Python idle while Redis answers. With a read-ahead the two overlap: the
next XREADGROUP (and the acknowledgements of the batch before) travel and run while the
handler works through the current batch; its reply waits in the socket buffer.

The commands go out on a connection taken from the client's pool and held until their
replies are read, so nothing else can interleave on it. redis-py offers no split
send/receive for a pipeline, hence the connection-level calls (the same ones its pipeline
makes). Only plain ``redis.Redis`` clients (one server or Sentinel) read ahead; a cluster
client reads the ordinary way.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import redis

Command = tuple[Any, ...]


def take_connection(pool: Any) -> Any:
    """A connection from ``pool``, as redis-py's own commands take one.

    redis-py < 5.3 requires a command name (it only picks the connection by it, so any
    name will do); 5.3 and later deprecate passing one."""
    if _needs_command_name(type(pool).get_connection):
        return pool.get_connection("XREADGROUP")
    return pool.get_connection()


@functools.lru_cache(maxsize=8)
def _needs_command_name(get_connection: Any) -> bool:
    parameter = inspect.signature(get_connection).parameters.get("command_name")
    return parameter is not None and parameter.default is inspect.Parameter.empty


def for_client(client: Any) -> ReadAhead | None:
    """A ReadAhead on ``client``, or None for a cluster client (it reads the ordinary way)."""
    if not isinstance(client, redis.Redis):  # RedisCluster is not a redis.Redis
        return None
    return ReadAhead(client)


class ReadAhead:
    """At most one batch of commands in flight on a held connection."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._connection: Any = None
        self._commands: list[Command] = []

    @property
    def pending(self) -> bool:
        """True while sent commands wait for their replies to be read."""
        return self._connection is not None

    def send(self, commands: list[Command]) -> None:
        """Send ``commands`` (e.g. ``("XREADGROUP", ...)``) without waiting for replies."""
        assert self._connection is None, "a read-ahead is already in flight"
        pool = self._client.connection_pool
        connection = take_connection(pool)
        try:
            connection.send_packed_command(connection.pack_commands(commands))
        except BaseException:
            connection.disconnect()
            pool.release(connection)
            raise
        self._connection, self._commands = connection, commands

    def receive(self) -> list[Any]:
        """The replies of the commands sent, parsed as redis-py parses them (a ResponseError
        among them is raised after every reply is read)."""
        connection, commands = self._connection, self._commands
        assert connection is not None, "nothing was sent"
        self._connection, self._commands = None, []
        replies: list[Any] = []
        try:
            for command in commands:
                try:
                    replies.append(self._client.parse_response(connection, command[0]))
                except redis.ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            # the socket is out of step with what was sent: drop it, never reuse it
            connection.disconnect()
            raise
        finally:
            self._client.connection_pool.release(connection)
        for reply in replies:
            if isinstance(reply, redis.ResponseError):
                raise reply
        return replies

    def discard(self) -> None:
        """Forget what is in flight (its replies are lost; the connection is dropped)."""
        if self._connection is not None:
            self._connection.disconnect()
            self._client.connection_pool.release(self._connection)
            self._connection, self._commands = None, []
