"""The composite read-back's expectation: what the charger holds while wattcap's own writes are on their way or
queued, and how DC limits are compared (never through an AC voltage)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from wattcap.core.dialects import DEFAULT_DIALECT
from wattcap.core.events import Measurand, MeterSample, MeterValuesReceived
from wattcap.core.model import ChargingRateUnit, OcppVersion, Transaction
from wattcap.core.sitecap.model import EvseSpec
from wattcap.core.sitecap.profiles import fallback_profile, session_limit_profile
from wattcap.core.station import CurrentType, StationConfig
from wattcap.core.verification import Verdict
from wattcap.ocpp.lifecycle_messages import read_status
from wattcap.server.lifecycle_types import LifecycleSettings
from wattcap.server.profile_context import StationContext
from wattcap.server.profile_draw import DrawMonitor
from wattcap.server.profile_exchange import Exchange
from wattcap.server.profile_verify import CompositeVerifier, WritesOnTheWay
from wattcap.store import desired_from_profile

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
A, W = ChargingRateUnit.A, ChargingRateUnit.W
V16, V201 = OcppVersion.V16, OcppVersion.V201
EVSE = EvseSpec("SIM-021", 2, "grid")


def _verifier() -> CompositeVerifier:
    return CompositeVerifier(None, None, lambda: NOW, LifecycleSettings())  # type: ignore[arg-type]


def test_a_fallback_update_not_yet_accepted_still_limits_the_evse_after_the_session_lease() -> None:
    """The benchmark's "286s–3600s: expected no limit, reported 0 A": the site cap re-sent the EVSE's fallback
    (0 A) while its session limit (a TxProfile with a 300 s lease) was read back. The update's record was not
    accepted yet, so the context left the fallback out altogether; the charger still holds the version it
    accepted (0 A), which applies again when the TxProfile's validTo passes (1.6 §3.13.2, R16-07/08)."""
    session = replace(
        session_limit_profile(EVSE, transaction_id="7", current_a=16.0, phases=3, power_w=None,
                              lease_until=NOW + timedelta(seconds=286), now=NOW, unit=A),
        id=50_001,
    )
    held = replace(fallback_profile(EVSE, current_a=0.0, phases=3, now=NOW, unit=A), id=30_001)
    wanted = replace(fallback_profile(EVSE, current_a=6.0, phases=3, now=NOW, unit=A), id=30_001)
    desired = (
        desired_from_profile("SIM-021", 2, session, V16, "session", status="installed"),
        desired_from_profile("SIM-021", 2, wanted, V16, "default", status="pending"),
    )
    config = StationConfig(ocpp_version=V16, dialect=DEFAULT_DIALECT.for_version(V16), evse_ids=(1, 2))
    ctx = StationContext(
        "SIM-021", V16, config, desired, (Transaction(2, "7", NOW - timedelta(minutes=5)),),
        held_before=(desired_from_profile("SIM-021", 2, held, V16, "default", status="installed"),),
    )
    expected = _verifier().expected(ctx, 2, A, 3600)
    assert [(p.start_period, p.limit, p.is_local_limit) for p in expected.periods] == [
        (0, 16.0, False), (286, 0.0, False),
    ]


async def test_a_read_back_waits_for_the_writes_on_their_way_and_holds_new_ones_back() -> None:
    writes = WritesOnTheWay()
    assert writes.seen("CP1") == 0
    sent = asyncio.Event()

    async def write() -> None:
        async with writes.sending("CP1"):
            sent.set()
            await asyncio.sleep(0.05)

    task = asyncio.create_task(write())
    await sent.wait()
    assert writes.seen("CP1") is None  # a context read now may lack what the charger just took
    assert await writes.quiet("CP1") == 1 and task.done()
    order: list[str] = []

    async def later_write() -> None:
        async with writes.sending("CP1"):
            order.append("write")

    async with writes.holding("CP1") as seen:
        assert seen == 1
        blocked = asyncio.create_task(later_write())
        await asyncio.sleep(0.01)
        order.append("read-back")
    await blocked
    assert order == ["read-back", "write"] and writes.seen("CP1") == 2


DC_EVSE = EvseSpec("SIM-DC", 1, "grid", current_type=CurrentType.DC, voltage_v=400.0)


def _dc_context() -> StationContext:
    """A 2.0.1 DC station (SupplyPhases 0 in its device model) holding an 11 kW fallback."""
    config = StationConfig(
        ocpp_version=V201, dialect=DEFAULT_DIALECT.for_version(V201), current_type=CurrentType.DC
    )
    fallback = replace(
        fallback_profile(DC_EVSE, current_a=11_000 / 1_200, phases=3, now=NOW, unit=W), id=30_000
    )
    desired = (desired_from_profile("SIM-DC", 1, fallback, V201, "default", status="installed"),)
    return StationContext("SIM-DC", V201, config, desired, ())


def test_a_dc_station_is_read_back_in_watts_and_an_answer_in_amperes_is_not_judged() -> None:
    """The simulator's DC station limits in W; asked in A (the first unit it takes) it converts with its own DC
    voltage, wattcap with 230 V x 3 phases: a false mismatch. DC composites are asked in W; an answer in A (a
    charger that answers in the other unit, A10) cannot be compared without the DC voltage, and the check says so."""
    ctx = _dc_context()
    verifier = _verifier()
    assert verifier.unit(ctx, None) is W
    expected = verifier.expected(ctx, 1, W, 3600)
    assert [(p.start_period, p.limit) for p in expected.periods] == [(0, 11_000.0)]
    payload = {"status": "Accepted", "schedule": {
        "evseId": 1, "duration": 3600, "scheduleStart": "2025-03-01T12:00:00Z", "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 27.5}],  # 11 kW at 400 V DC
    }}
    check = verifier._judge(ctx, expected, Exchange(read_status(payload), payload), W)
    assert check.verdict is Verdict.APPLIED and "DC voltage" in (check.reason or "")


class _Recorded:
    """The store as the draw check uses it: only violations are written."""

    def __init__(self) -> None:
        self.verifications: list[tuple] = []

    async def record_verification(self, *args, **kwargs) -> None:
        self.verifications.append(args)

    async def append_audit(self, *args, **kwargs) -> None:
        pass


async def test_the_draw_check_never_converts_a_dc_limit_through_an_ac_voltage() -> None:
    """50 A DC at 800 V is 40 kW: within the limit, though 40 kW / (230 V x 3) would be 58 A."""
    config = StationConfig(ocpp_version=V201, current_type=CurrentType.DC, default_number_phases=1)
    ctx = replace(_dc_context(), config=config)
    amps = replace(
        fallback_profile(DC_EVSE, current_a=50.0, phases=1, now=NOW, unit=A), id=30_000
    )
    ctx = replace(ctx, desired=(desired_from_profile("SIM-DC", 1, amps, V201, "default", status="installed"),))
    store = _Recorded()
    monitor = DrawMonitor(store, lambda: NOW, LifecycleSettings())  # type: ignore[arg-type]
    monitor.remember("SIM-DC", config, _verifier().expected(ctx, 1, A, 3600))
    at = NOW + timedelta(minutes=5)
    samples = (MeterSample(at, Measurand.POWER_ACTIVE_IMPORT, 40_000.0, "W"),)
    await monitor.check(MeterValuesReceived("SIM-DC", at, 1, "7", samples))
    assert store.verifications == []
    samples = (MeterSample(at, Measurand.CURRENT_IMPORT, 60.0, "A"),)  # a DC current above its DC limit
    await monitor.check(MeterValuesReceived("SIM-DC", at, 1, "7", samples))
    assert len(store.verifications) == 1
