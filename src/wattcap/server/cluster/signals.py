"""Site signals in a cluster: a limit, load or series posted to any node reaches every node's board.

Each node keeps one :class:`ClusterSignalBoard` per site for as long as it runs, whether it leads the site or not:
a signal accepted here (REST or MQTT) is applied here and published on ``{prefix}.signal.{site}``, and every other
node applies it to its own board with the same source and reception time. So the node that leads a site has every
signal in force, and a node that takes over a site later starts with them too, not with its safe limits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from wattcap.core.sitecap.signals import LimitSchedule, LoadReading, SignalKind
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.signals import BuildingLoadSignal, SeriesSignal, SignalBoard, SiteLimitSignal

log = logging.getLogger("wattcap.cluster.signals")

Publish = Callable[[str, dict[str, Any]], None]


class ClusterSignalBoard(SignalBoard):
    def __init__(self, site: SiteDefinition, publish: Publish, on_change: Callable[[], None] = lambda: None) -> None:
        super().__init__(site, on_change)
        self._publish = publish

    def put_limit(self, signal: SiteLimitSignal, *, source: str, now: datetime) -> LimitSchedule:
        schedule = super().put_limit(signal, source=source, now=now)
        self._share("site_limit", signal, source, now)
        return schedule

    def put_load(self, signal: BuildingLoadSignal, *, source: str, now: datetime) -> LoadReading:
        reading = super().put_load(signal, source=source, now=now)
        self._share("building_load", signal, source, now)
        return reading

    def put_series(self, kind: SignalKind, signal: SeriesSignal, *, source: str, now: datetime) -> None:
        super().put_series(kind, signal, source=source, now=now)
        self._share(kind.value, signal, source, now)

    def _share(self, kind: str, signal: Any, source: str, now: datetime) -> None:
        self._publish(self.site.id, {"kind": kind, "signal": signal.model_dump(mode="json"), "source": source,
                                     "at": now.isoformat()})

    def apply(self, data: dict[str, Any]) -> None:
        """A signal another node accepted (already checked there), applied here without being shared again."""
        kind, source, at = data["kind"], data["source"], datetime.fromisoformat(data["at"])
        if kind == "site_limit":
            SignalBoard.put_limit(self, SiteLimitSignal.model_validate(data["signal"]), source=source, now=at)
        elif kind == "building_load":
            SignalBoard.put_load(self, BuildingLoadSignal.model_validate(data["signal"]), source=source, now=at)
        else:
            SignalBoard.put_series(self, SignalKind(kind), SeriesSignal.model_validate(data["signal"]), source=source,
                                   now=at)
