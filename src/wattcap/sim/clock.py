"""Station time: the wall clock, or an accelerated simulated clock for long scenarios.

Every timestamp a simulated station puts on the wire, every schedule it evaluates and every interval it waits
(meter values, heartbeats, back-off) is read from one :class:`Clock`. An accelerated clock therefore compresses a
24 h depot day into seconds without changing what the station does: a profile period of 3600 s still lasts 3600
simulated seconds, only fewer real ones. Response timeouts of the OCPP link stay in real seconds, because they
protect against a silent peer, not against simulated time.

The pure station code never reads a clock; it is handed ``now``. Only the shell (:mod:`wattcap.sim.runner`)
asks a :class:`Clock`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the simulator's time comes from."""

    @property
    def speed(self) -> float:
        """Simulated seconds per real second (1 for the wall clock)."""
        ...

    def now(self) -> datetime:
        """The station's current time, aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of station time."""
        ...


class RealClock:
    """The wall clock: what a real charger in the field runs on."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class AcceleratedClock:
    """Simulated time that runs ``speed`` times faster than the wall clock, from ``start`` (default: now).

    It is anchored on the monotonic clock, so a wall-clock adjustment on the host does not make stations jump.
    """

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = float(speed)
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._anchor = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._anchor) * self._speed
        return self._start + timedelta(seconds=elapsed)

    def real_seconds(self, simulated: float) -> float:
        """How long ``simulated`` station seconds take on the wall clock."""
        return simulated / self._speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speed)


def make_clock(speed: float = 1.0, start: datetime | None = None) -> Clock:
    """The wall clock for ``speed`` 1 without a start time, otherwise an :class:`AcceleratedClock`."""
    if speed == 1.0 and start is None:
        return RealClock()
    return AcceleratedClock(speed, start)
