"""Comparing a computed composite with a scenario's ``expected`` under its ``check`` rules.

Modes (see docs/scenario-format.md): ``exact`` (same number of periods, every listed field equal; a listed
field absent from an expected period must be absent), ``prefix_min_len`` (only the first min(len) periods),
``prefix`` (the expected periods must start the result), ``first_period_only`` (only the first period).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wattcap.core.model import CompositeSchedule
from wattcap.ocpp.composite_json import composite_to_json

_DEFAULT_FIELDS = ("startPeriod", "limit", "numberPhases")
_NUMERIC = {"limit", "setpoint", "dischargeLimit", "limit_L2", "limit_L3"}


@dataclass(frozen=True, slots=True)
class CheckResult:
    scenario_id: str
    passed: bool
    differences: tuple[str, ...] = field(default_factory=tuple)


def _default_for_absent(check: Mapping[str, Any], name: str) -> Any:
    """What an absent expected field means: the vectors say stackLevel defaults to 0 where noted."""
    if name == "stackLevel" and "stackLevel defaults to 0" in str(check.get("absent_field_means", "")):
        return 0
    if name == "periodTransformed":
        return False
    return None


def _equal(name: str, want: Any, got: Any, check: Mapping[str, Any]) -> bool:
    if want is None or got is None:
        return want is None and got is None
    if name == "startPeriod":
        return abs(want - got) <= (check.get("startPeriod_tolerance_s") or 0)
    if name in _NUMERIC:
        tolerance = check.get("limit_tolerance_abs")
        return math.isclose(
            float(want), float(got), rel_tol=1e-6 if tolerance is None else 0.0, abs_tol=tolerance or 0.0
        )
    return want == got


def check_scenario(
    scenario_id: str, schedule: CompositeSchedule, expected: Mapping[str, Any], check: Mapping[str, Any] | None
) -> CheckResult:
    check = check or {"mode": "exact"}
    mode = check.get("mode", "exact")
    fields = list(check.get("fields") or _DEFAULT_FIELDS)
    actual = composite_to_json(schedule, attribution=False)
    problems: list[str] = []
    for key in ("evseId", "duration", "scheduleStart", "chargingRateUnit"):
        if key in expected and expected[key] != actual[key]:
            problems.append(f"{key}: expected {expected[key]!r}, got {actual[key]!r}")
    want = list(expected.get("chargingSchedulePeriod", []))
    got = actual["chargingSchedulePeriod"]
    if mode == "exact":
        if len(want) != len(got):
            problems.append(f"{len(want)} periods expected, got {len(got)}")
        count = min(len(want), len(got))
    elif mode == "prefix_min_len":
        count = min(len(want), len(got))
    elif mode == "prefix":
        if len(got) < len(want):
            problems.append(f"at least {len(want)} periods expected, got {len(got)}")
        count = min(len(want), len(got))
    elif mode == "first_period_only":
        count = 1 if want and got else 0
        if not got:
            problems.append("no period computed")
    else:
        problems.append(f"unknown check mode {mode!r}")
        count = 0
    for i in range(count):
        for name in fields:
            if name == "numberPhases_if_both_present":
                if (
                    "numberPhases" in want[i]
                    and "numberPhases" in got[i]
                    and (want[i]["numberPhases"] != got[i]["numberPhases"])
                ):
                    problems.append(
                        f"period {i} numberPhases: expected {want[i]['numberPhases']}, got {got[i]['numberPhases']}"
                    )
                continue
            expected_value = want[i].get(name, _default_for_absent(check, name))
            actual_value = got[i].get(name, _default_for_absent(check, name))
            if not _equal(name, expected_value, actual_value, check):
                problems.append(f"period {i} {name}: expected {expected_value!r}, got {actual_value!r}")
    if problems and mode == "exact" and len(want) != len(got):
        problems.append("expected: " + _short(want))
        problems.append("computed: " + _short(got))
    return CheckResult(scenario_id, not problems, tuple(problems))


def _short(periods: list[Mapping[str, Any]]) -> str:
    parts = []
    for p in periods:
        text = f"{p['startPeriod']}:{p['limit']:g}"
        if "numberPhases" in p:
            text += f"/{p['numberPhases']}ph"
        if "stackLevel" in p:
            text += f"@L{p['stackLevel']}"
        parts.append(text)
    return " ".join(parts)
