"""The simulator against the real control plane: the issue's "Done means", end to end.

The control plane runs in-process as ``wattcap serve`` runs it: :class:`wattcap.server.runtime.ControlPlane` on a
:class:`Repository` (a temporary SQLite database, migrated on open), its lifecycle started in the app's lifespan.
Simulated stations, registered in the store with a password (security profile 1), connect to it over real
WebSockets, each with an EV on every EVSE that wants 32 A on three phases.

The stations run on the wall clock: the control plane dates Absolute profiles, composite read-backs and the draw
check by its own clock, and an accelerated station clock would move the two time bases apart
(``docs/simulator.md``, Time). The reaction allowance is shortened to keep the file quick. Every wait is for a
condition with a generous timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.serving import serving
from server.store_support import eventually as _eventually
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    OcppVersion,
)
from wattcap.core.verification import Difference, Verdict
from wattcap.server.profiles import ChangeResult, LifecycleSettings, ProfileService
from wattcap.server.runtime import ControlPlane as Runtime
from wattcap.server.settings import Settings
from wattcap.sim.clock import RealClock
from wattcap.sim.ev import EV_MODELS
from wattcap.sim.personalities import get_personality
from wattcap.sim.runner import RunOptions, Simulation
from wattcap.sim.scenario import Arrival, default_token
from wattcap.sim.spec import EvseSpec, StationSpec
from wattcap.store import CapabilityStatus, Repository, StationState

V16, V201 = OcppVersion.V16, OcppVersion.V201
PASSWORD = "simulated-station-password-01"
TIMEOUT = 20.0
LIMIT_A = 10.0
HARDWARE_A = 32.0
METER_S = 1.0
# The lifecycle's knobs as ``wattcap serve`` has them, but every write at once, no periodic reconcile, and a short
# reaction allowance (the simulator follows a new limit at once; the default 30 s only makes the test slow).
LIFECYCLE = LifecycleSettings(min_write_interval_s=0, reconcile_interval_s=None, reaction_s=2.0)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = TIMEOUT) -> Any:
    """Poll ``check()`` until it returns something truthy, with this file's longer timeout."""
    return await _eventually(check, timeout)


# ---- the control plane, as ``wattcap serve`` runs it --------------------------------------------------------


@dataclass
class ControlPlane:
    url: str
    repository: Repository
    service: ProfileService


@asynccontextmanager
async def control_plane(database_url: str) -> AsyncIterator[ControlPlane]:
    settings = Settings(host="127.0.0.1", port=0, call_timeout_s=10.0)
    repository = await Repository.open(database_url)
    plane = Runtime(settings, repository, lifecycle=LIFECYCLE)
    try:
        async with serving(plane.app(), settings, TIMEOUT) as served:
            yield ControlPlane(f"ws://127.0.0.1:{served.port}/ocpp", repository, plane.profiles)
    finally:
        await plane.close()
        await repository.close()


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    async with control_plane(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}") as running:
        yield running


# ---- simulated stations -------------------------------------------------------------------------------------


def station(station_id: str, version: OcppVersion, evses: int = 1, personality: str = "everest") -> StationSpec:
    """A 3-phase 230 V AC station with ``evses`` EVSEs of 32 A."""
    return StationSpec(
        station_id,
        version,
        evses=tuple(EvseSpec(i, max_current_a=HARDWARE_A) for i in range(1, evses + 1)),
        personality=get_personality(personality),
    )


@asynccontextmanager
async def simulated(plane: ControlPlane, specs: Sequence[StationSpec]) -> AsyncIterator[Simulation]:
    """``specs`` registered (security profile 1), connected, booted, capabilities read, and charging on every EVSE."""
    for spec in specs:
        await plane.repository.add_station(
            spec.station_id, PASSWORD, security_profile=1, ocpp_version=spec.ocpp_version.value
        )
    truck = EV_MODELS["truck"]  # 32 A on three phases: every limit below that binds
    arrivals = [
        Arrival(0.0, s.station_id, e.evse_id, truck, soc=0.2, id_token=default_token(s.station_id, e.evse_id))
        for s in specs
        for e in s.evses
    ]
    options = RunOptions(
        plane.url, password=PASSWORD, meter_interval_s=METER_S, response_timeout_s=10.0, backoff_min_s=0.05,
        backoff_max_s=0.2,
    )
    sim = Simulation(specs, RealClock(), options, arrivals=arrivals)
    task = asyncio.create_task(sim.run())
    try:
        ids = [s.station_id for s in specs]
        await plane.service.wait_for(lambda: all(plane.service.boot_count[i] for i in ids), TIMEOUT)
        for spec in specs:
            await eventually(lambda s=spec: _all_charging(plane, s))
        yield sim
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    for runner in sim.runners.values():  # the control plane refused nothing the stations sent
        assert runner.stats.call_errors == 0


async def _all_charging(plane: ControlPlane, spec: StationSpec) -> bool:
    return len(await plane.repository.active_transactions(spec.station_id)) == len(spec.evses)


def tx_default(limit: float) -> ChargingProfile:
    """An Absolute TxDefaultProfile starting a minute ago (no gap at its start, A6/A7), 3 phases, no end."""
    return ChargingProfile(
        id=0, stack_level=0, purpose=ChargingProfilePurpose.TX_DEFAULT, kind=ChargingProfileKind.ABSOLUTE,
        schedules=(ChargingSchedule(
            ChargingRateUnit.A, (ChargingSchedulePeriod(0, limit, number_phases=3),),
            start_schedule=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1),
        ),),
    )


async def set_tx_default(plane: ControlPlane, station_id: str, limit: float = LIMIT_A) -> ChangeResult:
    """A site-wide TxDefaultProfile (EVSE 0): it shapes, and is verified on, every EVSE the station reported."""
    return await plane.service.set_profile(station_id, 0, tx_default(limit), band="default", actor="test")


async def currents_after(
    plane: ControlPlane, station_id: str, evse_id: int, since: datetime, instants: int = 2
) -> list[float]:
    """The per-phase currents the store holds for ``evse_id`` from ``since`` on, once ``instants`` samples arrived."""

    async def found() -> list[float] | None:
        samples = await plane.repository.meter_samples(
            station_id, since, since + timedelta(hours=1), evse_id=evse_id, measurands=["Current.Import"]
        )
        per_phase = [s for s in samples if s.phase in ("L1", "L2", "L3")]
        return [s.value for s in per_phase] if len({s.measured_at for s in per_phase}) >= instants else None

    return await eventually(found)


async def verdicts(plane: ControlPlane, station_id: str) -> list[str]:
    return [r.verdict for r in await plane.repository.verification_results(station_id)]


# ---- the specs -----------------------------------------------------------------------------------------------


async def test_simulated_stations_boot_and_the_control_plane_stores_their_capabilities(plane, caplog):
    caplog.set_level(logging.ERROR)
    specs = [station("SIM-16", V16, evses=1), station("SIM-201", V201, evses=2)]
    async with simulated(plane, specs):
        records = {s.station_id: await plane.repository.get_station(s.station_id) for s in specs}
        capabilities = {s.station_id: await plane.repository.get_capabilities(s.station_id) for s in specs}
    for spec in specs:
        record = records[spec.station_id]
        assert record.state is StationState.ACCEPTED and record.last_boot_at is not None
        assert (record.ocpp_version, record.model) == (spec.ocpp_version.value, "sim-everest")
        read = capabilities[spec.station_id]
        assert read.status == CapabilityStatus.ANSWERED
        summary = read.document["summary"]
        assert summary["evseIds"] == [e.evse_id for e in spec.evses]
        assert summary["rateUnits"] == ["A", "W"]
        assert (summary["maxStackLevel"], summary["maxPeriodsPerSchedule"], summary["maxInstalledProfiles"]) == (
            8, 24, 32,
        )
        assert summary["phaseSwitching3to1"] is True and summary["missing"] == [] and summary["notes"] == []
    # 2.0.1: the EVSEs, their phases and the profile capacity come from the base report (NotifyReport).
    document = capabilities["SIM-201"].document
    assert document["reportData"] and (document["summary"]["supplyPhases"], document["summary"]["currentType"]) == (
        3, "AC",
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no handler failed on either side"


async def test_a_10_a_tx_default_is_applied_and_the_measured_draw_stays_under_it(plane):
    specs = [station("SIM-16", V16, evses=1), station("SIM-201", V201, evses=2)]
    async with simulated(plane, specs):
        results = await asyncio.gather(*(set_tx_default(plane, s.station_id) for s in specs))
        since = datetime.now(UTC) + timedelta(seconds=LIFECYCLE.reaction_s)
        for spec, result in zip(specs, results, strict=True):
            # The station's own composite (its dialect, what it holds) matches the engine's, on every EVSE.
            assert result.verdict is Verdict.APPLIED, result.reason
            assert [c.evse_id for c in result.checks] == [e.evse_id for e in spec.evses]
            for evse in spec.evses:
                currents = await currents_after(plane, spec.station_id, evse.evse_id, since)
                assert max(currents) <= LIMIT_A
        await plane.service.drain()  # every meter value received so far has been judged
        for spec in specs:
            assert "violation" not in await verdicts(plane, spec.station_id)


async def test_a_station_that_accepts_and_ignores_profiles_is_caught_by_its_draw(plane):
    async with simulated(plane, [station("SIM-IGNORE", V16, personality="accept-and-ignore")]):
        result = await set_tx_default(plane, "SIM-IGNORE")
        # It reports what it holds, so its composite says 10 A: only the meter shows it charges at full power.
        assert result.verdict is Verdict.APPLIED
        await eventually(lambda: _violation(plane, "SIM-IGNORE"))
    [violation] = [r for r in await plane.repository.verification_results("SIM-IGNORE") if r.verdict == "violation"]
    assert violation.expected == {"allowed": LIMIT_A, "unit": "A"}
    assert violation.reported["measured"] == HARDWARE_A


async def _violation(plane: ControlPlane, station_id: str) -> bool:
    return "violation" in await verdicts(plane, station_id)


async def test_a_station_that_answers_composites_without_a_schedule_is_a_mismatch(plane):
    async with simulated(plane, [station("SIM-EMPTY", V201, personality="composite-empty")]):
        result = await set_tx_default(plane, "SIM-EMPTY")
    # Accepted without a schedule says nothing limits the EVSE, over the whole window wattcap expects 10 A in.
    assert result.verdict is Verdict.MISMATCH
    assert result.differences == (Difference(0, LIFECYCLE.verify_duration_s, LIMIT_A, None),)


async def test_after_a_clear_a_compliant_station_reports_what_the_engine_expects(plane):
    async with simulated(plane, [station("SIM-CLEAR", V201)]):
        installed = await set_tx_default(plane, "SIM-CLEAR")
        cleared = await plane.service.clear_profile("SIM-CLEAR", installed.profile_id)
    assert cleared.verdict is Verdict.APPLIED, cleared.reason
