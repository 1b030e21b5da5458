"""asyncio twins of Producer, Consumer and Manager on ``redis.asyncio``.

Same keys, entry layout, Lua scripts and algorithms as the sync classes: the steps come from
``queues.commands``, ``queues.claims`` and ``queues.info``; only the waiting differs.
"""

from queues.aio.consumer import Consumer
from queues.aio.manager import Manager
from queues.aio.producer import Producer

__all__ = ["Consumer", "Manager", "Producer"]
