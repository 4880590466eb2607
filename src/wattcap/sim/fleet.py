"""A fleet of simulated stations: varied, realistic and reproducible from a seed.

Station ``n`` of a fleet is a pure function of (seed, n, options), so ``--processes K`` can build each
process's share of the fleet independently and two runs with the same seed simulate the same site.

The mix follows what depots and car parks install: mostly AC wallboxes with one or two EVSEs (3-phase, some
1-phase), some DC chargers, a few 3–4 EVSE pedestals.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from wattcap.core.model import OcppVersion
from wattcap.core.station import CurrentType
from wattcap.sim.personalities import Personality, get_personality
from wattcap.sim.spec import DEFAULT_CAPABILITIES, EvseSpec, StationSpec


class VersionMix(StrEnum):
    V16 = "1.6"
    V201 = "2.0.1"
    MIXED = "mixed"  # alternating: odd station numbers 1.6, even ones 2.0.1


@dataclass(frozen=True, slots=True)
class FleetOptions:
    """How to build a fleet (the ``wattcap simulate`` options that shape stations)."""

    count: int = 1
    id_prefix: str = "SIM"
    versions: VersionMix = VersionMix.V201
    personalities: tuple[str, ...] = ("everest",)  # spread round-robin over the stations
    evses: int | None = None  # fixed number of EVSEs per station; None: 1–4 drawn per station
    current_type: CurrentType | None = None  # None: mostly AC, some DC
    seed: int = 1


def station_id(prefix: str, number: int, count: int) -> str:
    """``SIM-001`` … (at least three digits, more when the fleet needs them)."""
    width = max(3, len(str(count)))
    return f"{prefix}-{number:0{width}d}"


def make_station(options: FleetOptions, number: int) -> StationSpec:
    """Station ``number`` (1-based) of the fleet described by ``options``."""
    rng = random.Random(f"{options.seed}/{number}")
    personality: Personality = get_personality(options.personalities[(number - 1) % len(options.personalities)])
    versions = VersionMix(options.versions)
    if versions is VersionMix.MIXED:
        version = OcppVersion.V16 if number % 2 else OcppVersion.V201
    else:
        version = OcppVersion(versions.value)
    current_type = options.current_type or (CurrentType.DC if rng.random() < 0.2 else CurrentType.AC)
    evse_count = options.evses or rng.choices((1, 2, 3, 4), weights=(35, 45, 8, 12))[0]
    if current_type is CurrentType.AC:
        phases = 1 if rng.random() < 0.15 else 3
        max_current = rng.choice((16.0, 32.0))
        evses = tuple(EvseSpec(i, max_current_a=max_current) for i in range(1, evse_count + 1))
        voltage = 230.0
        capabilities = replace(DEFAULT_CAPABILITIES, phase_switching_3to1=phases == 3 and rng.random() < 0.6)
    else:
        phases = 3
        max_power = rng.choice((50_000.0, 150_000.0))
        evses = tuple(
            EvseSpec(i, max_current_a=max_power / 400.0, max_power_w=max_power) for i in range(1, evse_count + 1)
        )
        voltage = 400.0
        capabilities = replace(DEFAULT_CAPABILITIES, phase_switching_3to1=False)
    return StationSpec(
        station_id=station_id(options.id_prefix, number, options.count),
        ocpp_version=version,
        evses=evses,
        current_type=current_type,
        phases=phases,
        voltage_v=voltage,
        capabilities=replace(capabilities, max_stack_level=rng.choice((3, 8))),
        personality=personality,
    )


def make_fleet(options: FleetOptions, numbers: Sequence[int] | None = None) -> list[StationSpec]:
    """The stations of the fleet (all, or only ``numbers``, e.g. one process's share)."""
    chosen = numbers if numbers is not None else range(1, options.count + 1)
    return [make_station(options, n) for n in chosen]
