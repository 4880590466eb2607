"""Builders for the acceptance suite's pure tests: stations, the lifecycle's allocation applied to a step's actions,
meter samples, and step records, without a network or a store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from wattcap.acceptance.evidence import ActionOutcome, Snapshot, StepRecord
from wattcap.acceptance.plan import ClearProfile, SetProfile, StationFacts, Step, UpdateProfile
from wattcap.core.dialects import get_dialect
from wattcap.core.events import Measurand, MeterSample
from wattcap.core.holdings_policy import install_policy
from wattcap.core.lifecycle import DEFAULT_BANDS, allocate, prepare_profile
from wattcap.core.model import ChargingRateUnit, InstalledProfile, OcppVersion, Transaction
from wattcap.core.station import StationCapabilities, StationConfig
from wattcap.core.timeutil import utc

T0 = utc(2026, 3, 2, 20)
A, W = ChargingRateUnit.A, ChargingRateUnit.W


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def config(
    version: OcppVersion = OcppVersion.V201, *, dialect: str = "everest", evses: int = 2,
    units: tuple[ChargingRateUnit, ...] = (A, W), switching: bool = True, max_stack_level: int | None = 8,
) -> StationConfig:
    return StationConfig(
        ocpp_version=version,
        dialect=get_dialect(dialect).for_version(version),
        evse_ids=tuple(range(1, evses + 1)),
        capabilities=StationCapabilities(max_stack_level=max_stack_level, rate_units=units,
                                         phase_switching_3to1=switching),
    )


def facts(cfg: StationConfig | None = None, *, tx_start: datetime = T0 - timedelta(hours=1)) -> StationFacts:
    cfg = cfg or config()
    transactions = {e: Transaction(e, f"tx-{e}", tx_start) for e in cfg.evse_ids}
    return StationFacts("CP1", cfg, transactions, dialect=cfg.dialect.name)


class Charger:
    """What the lifecycle would make a charger hold for a sequence of steps: ids and stack levels from the bands,
    updates by id, clears by id (nothing refused)."""

    def __init__(self, facts_: StationFacts) -> None:
        self.facts = facts_
        self.installed: list[InstalledProfile] = []
        self.keys: dict[str, int] = {}

    def apply(self, step: Step) -> Snapshot:
        cfg = self.facts.config
        for action in step.actions:
            if isinstance(action, ClearProfile) and action.key in self.keys:
                pid = self.keys.pop(action.key)
                self.installed = [i for i in self.installed if i.profile.id != pid]
            elif isinstance(action, UpdateProfile) and action.key in self.keys:
                pid = self.keys[action.key]
                old = next(i for i in self.installed if i.profile.id == pid)
                new = prepare_profile(action.profile, profile_id=pid, stack_level=old.profile.stack_level,
                                      purpose=old.profile.purpose)
                self.installed = [i if i.profile.id != pid else InstalledProfile(i.evse_id, new)
                                  for i in self.installed]
            elif isinstance(action, SetProfile | UpdateProfile):
                slot = allocate(DEFAULT_BANDS, action.band, action.evse_id, occupants=self.installed,
                                policy=install_policy(cfg.ocpp_version),
                                max_stack_level=cfg.capabilities.max_stack_level)
                prepared = prepare_profile(action.profile, profile_id=slot.profile_id, stack_level=slot.stack_level,
                                           purpose=action.profile.purpose)
                self.installed.append(InstalledProfile(action.evse_id, prepared))
                self.keys[action.key] = slot.profile_id
        return Snapshot(T0, cfg, tuple(self.installed), tuple(self.facts.transactions.values()))


def record(step: Step, started: datetime, snapshot: Snapshot | None, *, outcomes: Sequence[ActionOutcome] = (),
           ended: datetime | None = None, offline=None) -> StepRecord:
    return StepRecord(step, started, started, tuple(outcomes), snapshot, ended, offline)


def currents(at_s: float, *values: float, phases: int = 3) -> list[MeterSample]:
    """One sampled instant: the current on each phase (one value: the same on ``phases`` phases)."""
    if len(values) == 1:
        values = tuple(values[0] if n < phases else 0.0 for n in range(3))
    when = at(at_s)
    out = [MeterSample(when, Measurand.CURRENT_IMPORT, v, "A", phase=f"L{n + 1}") for n, v in enumerate(values)]
    out.append(MeterSample(when, Measurand.POWER_ACTIVE_IMPORT, round(sum(values) * 230, 1), "W"))
    return out


def series(points: Iterable[tuple[float, float]], phases: int = 3) -> tuple[MeterSample, ...]:
    return tuple(s for t, v in points for s in currents(t, v, phases=phases))


def with_units(f: StationFacts, *units: ChargingRateUnit) -> StationFacts:
    cfg = f.config
    return replace(f, config=replace(cfg, capabilities=replace(cfg.capabilities, rate_units=units)))
