"""queues.aio.Producer's parts, the asyncio twins of queues.publishing."""
