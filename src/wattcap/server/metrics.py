"""Prometheus metrics of one control plane, served at ``/metrics``.

Each :class:`Metrics` has its own registry rather than the library's global one: tests and tools run several
control planes in one process, and the global registry refuses a second metric of the same name.

What is counted, and where from:

* ``wattcap_stations_connected`` / ``wattcap_stream_clients`` — gauges read when scraped;
* ``wattcap_station_events_total{type}`` — every message a station sent, by the event it carried
  (``MeterValuesReceived``, ``TransactionStarted`` …): ``rate()`` of it is messages per second by type;
* ``wattcap_profile_writes_total{action,verdict}`` and ``wattcap_verdicts_total{verdict}`` — from the profile
  lifecycle's results (a verdict per EVSE composite compared, ``violation`` per draw violation);
* ``wattcap_sitecap_allocation_seconds`` — a histogram the site-cap shell observes around each allocation
  (``with metrics.allocation_latency.time(): ...``);
* ``wattcap_stream_events_total{type}`` / ``wattcap_stream_dropped_total`` — the live stream's fan-out and what
  slow clients lost;
* ``wattcap_api_requests_total{method,route,status}``.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from wattcap.core.events import StationEvent
from wattcap.server.lifecycle_types import ChangeResult, DrawViolation, LifecycleNews

# Allocation runs every few seconds over a tree of tens to hundreds of EVSEs: milliseconds, seldom more.
_ALLOCATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.stations_connected = Gauge(
            "wattcap_stations_connected", "Stations with a live OCPP connection to this process.", registry=r
        )
        self.stream_clients = Gauge("wattcap_stream_clients", "Clients connected to the live stream.", registry=r)
        self.station_events = Counter(
            "wattcap_station_events", "Station messages received, by the event they carried.", ["type"], registry=r
        )
        self.profile_writes = Counter(
            "wattcap_profile_writes", "Profile changes sent to stations, by action and verdict.", ["action", "verdict"],
            registry=r,
        )
        self.verdicts = Counter(
            "wattcap_verdicts", "Composite verifications and draw checks, by verdict.", ["verdict"], registry=r
        )
        self.allocation_latency = Histogram(
            "wattcap_sitecap_allocation_seconds", "Time the site-cap allocator took for one allocation.",
            buckets=_ALLOCATION_BUCKETS, registry=r,
        )
        self.stream_events = Counter(
            "wattcap_stream_events", "Events published to the live stream, by type.", ["type"], registry=r
        )
        self.stream_dropped = Counter(
            "wattcap_stream_dropped", "Live-stream events dropped because a client read too slowly.", registry=r
        )
        self.api_requests = Counter(
            "wattcap_api_requests", "HTTP API requests, by method, route and status.", ["method", "route", "status"],
            registry=r,
        )

    def watch(self, stations_connected: Callable[[], int], stream_clients: Callable[[], int]) -> None:
        """Read the two gauges from their owners when scraped (no bookkeeping to get out of step)."""
        self.stations_connected.set_function(stations_connected)
        self.stream_clients.set_function(stream_clients)

    def on_station_event(self, event: StationEvent) -> None:
        self.station_events.labels(type(event).__name__).inc()

    def on_lifecycle(self, news: LifecycleNews) -> None:
        if isinstance(news, DrawViolation):
            self.verdicts.labels("violation").inc()
            return
        result: ChangeResult = news
        if result.action != "verify":
            self.profile_writes.labels(result.action, result.verdict.value).inc()
        for check in result.checks:
            self.verdicts.labels(check.verdict.value).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
