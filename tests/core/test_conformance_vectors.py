"""The shared conformance vectors (``../shared/conformance``) run through the scenario loader and checker.

* every line of ``everest.jsonl`` and ``microocpp.jsonl`` is a scenario whose ``expected`` composite the engine
  must reproduce under the line's ``check`` rules (K08.FR.02/04: the composite a charger of that family reports);
* every profile of all three files survives ``profile_from_json`` → ``profile_to_json`` → ``profile_from_json``
  unchanged ("lossless conversion"), the wire JSON differing from the original only in how timestamps are spelled;
* the checker is not vacuous: a perturbed expectation (other limit, missing period, shifted start) fails.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from wattcap.core.model import ChargingProfile
from wattcap.core.timeutil import parse_timestamp
from wattcap.ocpp.profile_json import profile_from_json, profile_to_json
from wattcap.scenario import check_scenario, parse_scenario

SHARED = Path(__file__).parents[2] / ".." / "shared"
CONFORMANCE = SHARED / "conformance"

if not CONFORMANCE.is_dir():
    pytest.skip(
        f"conformance vectors not found: {CONFORMANCE.resolve()} (the shared reference tree is not checked out)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.conformance

COMPOSITE_FILES = ("everest.jsonl", "microocpp.jsonl")
ALL_FILES = (*COMPOSITE_FILES, "everest-v21.jsonl")
TIME_KEYS = frozenset({"startSchedule", "validFrom", "validTo", "dynUpdateTime"})


def _vectors(*names: str) -> list[dict[str, Any]]:
    vectors = []
    for name in names:
        path = CONFORMANCE / name
        if not path.is_file():
            continue
        vectors.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return vectors


COMPOSITE_VECTORS = _vectors(*COMPOSITE_FILES)
VECTORS_BY_ID = {v["id"]: v for v in COMPOSITE_VECTORS}
PROFILE_CASES = [
    pytest.param(vector, index, id=f"{vector['id']}/profiles[{index}]")
    for vector in _vectors(*ALL_FILES)
    for index in range(len(vector.get("profiles", [])))
]


def _check(vector: Mapping[str, Any]):
    scenario = parse_scenario(vector)
    return check_scenario(scenario.id, scenario.composite(), vector["expected"], vector.get("check"))


# -- the vectors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", COMPOSITE_VECTORS, ids=[v["id"] for v in COMPOSITE_VECTORS])
def test_K08_FR_02_conformance_vector_reproduced(vector: dict[str, Any]) -> None:
    """K08.FR.02/.04: the composite of the vector's installed profiles is what that charger family reports."""
    result = _check(vector)
    assert result.passed, "\n".join(result.differences)


def test_conformance_files_hold_the_documented_number_of_vectors() -> None:
    """README: 122 EVerest and 23 MicroOcpp vectors; a truncated file would silently shrink the suite."""
    documented = {"everest.jsonl": 122, "microocpp.jsonl": 23}
    for name, count in documented.items():
        if (CONFORMANCE / name).is_file():
            assert len(_vectors(name)) == count, name
    assert len(VECTORS_BY_ID) == len(COMPOSITE_VECTORS), "vector ids must be unique"


# -- lossless conversion -------------------------------------------------------------------------------------


def _instants(value: Any) -> Any:
    """``value`` with every timestamp replaced by the instant it names (so spellings of one instant compare equal)."""
    if isinstance(value, Mapping):
        return {
            k: parse_timestamp(v) if k in TIME_KEYS and isinstance(v, str) else _instants(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_instants(v) for v in value]
    return value


def _timestamps(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [v for k, v in value.items() if k in TIME_KEYS and isinstance(v, str)] + [
            t for v in value.values() for t in _timestamps(v)
        ]
    if isinstance(value, list):
        return [t for v in value for t in _timestamps(v)]
    return []


def _extras(profile: ChargingProfile) -> list[Mapping[str, Any]]:
    """Every ``extra`` mapping of the profile (they are excluded from dataclass equality)."""
    out: list[Mapping[str, Any]] = [profile.extra]
    for schedule in profile.schedules:
        out.append(schedule.extra)
        out.extend(period.extra for period in schedule.periods)
    return out


@pytest.mark.parametrize(("vector", "index"), PROFILE_CASES)
def test_lossless_conversion_profile_json_round_trip(vector: dict[str, Any], index: int) -> None:
    """Lossless conversion: JSON → model → JSON → model is the identity; the JSON differs only in timestamp form."""
    version = parse_scenario(vector).version
    wire = vector["profiles"][index]["profile"]

    model = profile_from_json(wire, version)
    again = profile_to_json(model, version)
    back = profile_from_json(again, version)

    assert back == model
    assert _extras(back) == _extras(model)
    assert _instants(again) == _instants(wire)
    assert all(t.endswith("Z") for t in _timestamps(again)), "timestamps are normalised to UTC with Z"


# -- the checker is not vacuous ------------------------------------------------------------------------------


def _tolerances(vector: Mapping[str, Any]) -> tuple[float, int]:
    check = vector.get("check") or {}
    return float(check.get("limit_tolerance_abs") or 0.0), int(check.get("startPeriod_tolerance_s") or 0)


def _change_limit(vector: dict[str, Any]) -> None:
    limit_tolerance, _ = _tolerances(vector)
    period = vector["expected"]["chargingSchedulePeriod"][0]
    period["limit"] = period["limit"] + 1.0 + 2 * limit_tolerance


def _drop_period(vector: dict[str, Any]) -> None:
    vector["expected"]["chargingSchedulePeriod"].pop()


def _shift_start(vector: dict[str, Any]) -> None:
    _, start_tolerance = _tolerances(vector)
    period = vector["expected"]["chargingSchedulePeriod"][1]
    period["startPeriod"] = period["startPeriod"] + 2 * start_tolerance + 1


PERTURBATIONS = {"change_limit": _change_limit, "drop_period": _drop_period, "shift_start": _shift_start}
PERTURBED = [
    ("everest-v201-OCTT_TC_K_41_CS", ("change_limit", "drop_period", "shift_start")),
    ("everest-v201-TxDefaultConnector0-evse0-tx-active", ("change_limit", "drop_period", "shift_start")),
    ("everest-v16-TxProfilePerEvseWithMultipleEvses", ("change_limit", "drop_period", "shift_start")),
    ("everest-v16-ProfileTestsC-ChargeRateA", ("change_limit", "drop_period", "shift_start")),
    ("everest-v16-ProfileTestsB-validate_profileA", ("change_limit", "shift_start")),  # prefix_min_len: no count
    ("microocpp-GetCompositeSchedule-definition-gap", ("change_limit", "drop_period", "shift_start")),
    ("microocpp-instant-mixed-units", ("change_limit",)),  # first_period_only: only the first limit counts
]


@pytest.mark.parametrize(
    ("vector_id", "perturbation"),
    [pytest.param(v, p, id=f"{v}-{p}") for v, ps in PERTURBED for p in ps],
)
def test_checker_rejects_perturbed_expectation(vector_id: str, perturbation: str) -> None:
    """A wrong limit, a missing period or a start shifted past the tolerance makes the check fail."""
    if vector_id not in VECTORS_BY_ID:
        pytest.skip(f"vector {vector_id} is not in the conformance files")
    original = VECTORS_BY_ID[vector_id]
    assert _check(original).passed, "the unperturbed vector must pass, or this test proves nothing"

    perturbed = copy.deepcopy(original)
    PERTURBATIONS[perturbation](perturbed)

    result = _check(perturbed)
    assert not result.passed
    assert result.differences
