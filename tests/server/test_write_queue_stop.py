"""A station's write queue told to stop stops, even when the write it was sending swallowed the cancel.

On Python 3.11 ``asyncio.wait_for`` returns its result instead of raising ``CancelledError`` when the task is
cancelled just as the result arrives (CPython gh-86296); the ``ocpp`` package's ``ChargePoint.call`` waits that
way, so a write's send can return normally although the queue was being closed (``wattcap.aio``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from wattcap.core.lifecycle import WriteKey
from wattcap.core.model import ChargingProfilePurpose
from wattcap.server.profile_writer import WriteQueue


async def test_a_queue_closed_as_its_write_is_answered_sends_nothing_more():
    queue: WriteQueue[str] = WriteQueue(lambda: datetime.now(UTC), min_interval_s=0)
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    sent: list[str] = []

    async def first() -> str:
        sent.append("first")
        return await asyncio.wait_for(answer, 5)  # as ChargePoint.call waits for its answer

    async def second() -> str:
        sent.append("second")
        return await never  # a charger that never answers: only a cancel ends this

    key = WriteKey("CP1", ChargingProfilePurpose.TX_DEFAULT)
    writes = [asyncio.create_task(queue.submit(key, 1, first, paced=False)),
              asyncio.create_task(queue.submit(key, 2, second, paced=False))]
    while not sent:
        await asyncio.sleep(0)
    answer.set_result("Accepted")  # the answer arrives …
    closing = asyncio.create_task(queue.close())  # … in the same turn as the close's cancel
    done, _ = await asyncio.wait({closing}, timeout=10)
    if not done:
        never.cancel()  # let the test end
        await closing
    assert done, "the queue's loop went on after it was cancelled (its close waited for ever)"
    assert sent == ["first"]
    for write in writes:
        write.cancel()
    await asyncio.gather(*writes, return_exceptions=True)
