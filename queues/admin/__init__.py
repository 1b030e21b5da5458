"""The Manager's parts by concern. ``calls``: what to send and what a reply means,
without I/O, shared by queues.Manager and queues.aio.Manager; ``inspection``, ``pending``,
``dead_letters``, ``event_feed``: the sync Manager's methods by concern (its queue, trim,
group and consumer operations are in queues.manager itself)."""
