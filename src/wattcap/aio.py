"""A cancelled task stops, even when a library it awaited dropped the cancel.

On Python 3.11 ``asyncio.wait_for`` returns the awaited result instead of raising ``CancelledError`` when the task
is cancelled just as that result arrives (CPython gh-86296, fixed in 3.12 by basing ``wait_for`` on
``asyncio.timeout``). The ocpp package's ``ChargePoint.call`` and nats-py's requests (KV writes among them) wait that
way. A loop around such a call then goes on as if nothing happened, and whoever cancelled it and awaits it (every
``close``) waits forever. The task still counts the request (``Task.cancelling()``), so a loop that asks at every
turn ends anyway. Own waits use ``asyncio.timeout`` instead of ``wait_for``: it never drops a cancel.
"""

from __future__ import annotations

import asyncio


def stop_if_cancelled() -> None:
    """Raise ``CancelledError`` if the current task was cancelled and something it awaited swallowed that. For
    the head of a loop whose body awaits library code."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
