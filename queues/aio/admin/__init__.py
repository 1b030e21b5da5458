"""queues.aio.Manager's parts by concern, the asyncio twins of queues.admin (which also
holds ``calls``, the sans-I/O decisions both twins share)."""
