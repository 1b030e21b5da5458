"""The Producer's parts: ``plan`` (what both twins decide without I/O), ``writes`` (what one
publish sends), ``buffer`` (the buffer mode). queues.aio.publishing holds the asyncio twins."""
