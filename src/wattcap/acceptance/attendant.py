"""The steps that need a person: an EV plugged in and charging on the EVSEs a check measures.

The runner asks an :class:`Attendant` and then looks for itself (the transactions the control plane recorded): an
attendant never decides a verdict. :class:`Unattended` asks nobody (``--unattended``: a check without its sessions
is inconclusive); :class:`ConsoleAttendant` prints a guided prompt and waits until the sessions appear, the person
presses Enter to skip, or the time is up; a simulation brings its own (it plugs simulated EVs in).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TextIO


class Attendant(Protocol):
    async def sessions(
        self, station_id: str, evse_ids: Sequence[int], why: str, ready: Callable[[], Awaitable[bool]]
    ) -> None:
        """See that EVs charge on ``evse_ids`` of ``station_id`` (``why``: which check needs them); return when
        ``ready()`` holds or it gave up."""
        ...


class Unattended:
    """Nobody there: what is not charging already stays so (the checks that need it are inconclusive)."""

    async def sessions(self, station_id: str, evse_ids: Sequence[int], why: str, ready) -> None:
        return None


class ConsoleAttendant:
    """A guided prompt on the console; Enter skips (the check is then inconclusive)."""

    def __init__(
        self, say: Callable[[str], None], *, timeout_s: float = 600.0, poll_s: float = 2.0,
        stdin: TextIO | None = None,
    ) -> None:
        self.say = say
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.stdin = stdin if stdin is not None else sys.stdin

    async def sessions(self, station_id: str, evse_ids: Sequence[int], why: str, ready) -> None:
        if await ready():
            return
        evses = ", ".join(str(e) for e in evse_ids)
        self.say(
            f"[{station_id}] {why}: plug an EV into EVSE {evses} and start charging (card, app or plug-and-charge); "
            f"the EV should want more than 16 A per phase. Waiting up to {self.timeout_s:.0f} s - press Enter to skip."
        )
        skipped = _enter_pressed(self.stdin)
        try:
            async with asyncio.timeout(self.timeout_s):
                while not await ready():
                    if skipped.is_set():
                        self.say(f"[{station_id}] skipped: the checks that need these sessions are inconclusive")
                        return
                    await asyncio.sleep(self.poll_s)
            self.say(f"[{station_id}] sessions seen on EVSE {evses}")
        except TimeoutError:
            self.say(f"[{station_id}] no sessions after {self.timeout_s:.0f} s: the checks that need them are "
                     "inconclusive")


def _enter_pressed(stream: TextIO) -> asyncio.Event:
    """An event set when a line is read from ``stream``, read in a daemon thread (a blocked read must not keep
    the process alive when the run ends)."""
    loop = asyncio.get_running_loop()
    event = asyncio.Event()

    def read() -> None:
        with contextlib.suppress(Exception):
            stream.readline()
            loop.call_soon_threadsafe(event.set)

    threading.Thread(target=read, daemon=True, name="acceptance-prompt").start()
    return event
