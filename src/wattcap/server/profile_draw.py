"""Measured draw against the limits wattcap set: MeterValues in, violations recorded.

After every confirmed change the service hands over the composite the EVSE should follow from then on
(:meth:`DrawMonitor.remember`); each MeterValues message is then judged by
:func:`wattcap.core.lifecycle.find_violations` with the reaction allowance. Only memory is touched per message:
the store is written only when a charger actually draws more than it may.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from wattcap.core.events import MeterValuesReceived
from wattcap.core.lifecycle import DrawTolerance, find_violations
from wattcap.core.model import CompositeSchedule
from wattcap.core.station import StationConfig
from wattcap.server.lifecycle_types import DrawViolation, LifecycleSettings
from wattcap.server.profile_verify import conversion_voltage
from wattcap.store import Repository

log = logging.getLogger("wattcap.server.profiles")
ACTOR = "wattcap:meter"
_KEPT = 32  # composites per EVSE; a newer one supersedes the older ones from its start anyway


class DrawMonitor:
    def __init__(
        self,
        repository: Repository,
        clock: Callable[[], datetime],
        settings: LifecycleSettings,
        *,
        notify: Callable[[DrawViolation], None] | None = None,
    ) -> None:
        self.repository = repository
        self.clock = clock
        self.settings = settings
        self.notify = notify  # told of each violation once it is recorded
        self._timelines: dict[tuple[str, int], list[CompositeSchedule]] = {}
        self._tolerances: dict[str, DrawTolerance] = {}

    def watches(self, station_id: str, evse_id: int) -> bool:
        return (station_id, evse_id) in self._timelines

    def remember(self, station_id: str, config: StationConfig, composite: CompositeSchedule) -> None:
        """From ``composite.schedule_start`` on, the EVSE should follow ``composite``."""
        timeline = self._timelines.setdefault((station_id, composite.evse_id), [])
        timeline.append(composite)
        del timeline[:-_KEPT]
        s = self.settings
        self._tolerances[station_id] = DrawTolerance(
            s.draw_abs_a, s.draw_rel, conversion_voltage(config), config.default_number_phases
        )

    async def check(self, event: MeterValuesReceived) -> None:
        """Judge one MeterValues message; every violation goes to the verification results and the audit log."""
        timeline = self._timelines.get((event.station_id, event.evse_id), [])
        violations = find_violations(
            timeline, event.samples, reaction_s=self.settings.reaction_s,
            tolerance=self._tolerances.get(event.station_id),
        )
        for violation in violations:
            log.warning("station %s: %s", event.station_id, violation.describe())
            await self.repository.record_verification(
                event.station_id, event.evse_id, "violation",
                expected={"allowed": violation.allowed, "unit": violation.unit.value},
                reported={"measured": violation.measured, "start": violation.start, "end": violation.end},
                detail=violation.describe(), checked_at=self.clock(),
            )
            await self.repository.append_audit(
                ACTOR, "draw.violation", target=f"{event.station_id}/{event.evse_id}",
                reason=violation.describe(), after=violation,
            )
            if self.notify is not None:
                self.notify(DrawViolation(event.station_id, event.evse_id, violation))
