"""A composite on the wire: exactly the GetCompositeSchedule answer the OCPP schemas allow, nothing of wattcap's.

The schemas are the ``ocpp`` package's, applied the way the package applies them to a received answer (1.6 parsed
with ``decimal.Decimal`` so ``multipleOf 0.1`` is judged on the text, not on a binary float).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError
from ocpp.messages import MessageType, get_validator

from wattcap.core.model import (
    ChargingProfilePurpose,
    ChargingRateUnit,
    CompositePeriod,
    CompositeSchedule,
    OcppVersion,
    ProfileRef,
)
from wattcap.core.timeutil import utc
from wattcap.ocpp.composite_json import composite_to_json, composite_to_wire, reported_composite_from_json

V16, V201 = OcppVersion.V16, OcppVersion.V201
A = ChargingRateUnit.A
START = utc(2026, 3, 2, 8)
TX = ProfileRef(7, ChargingProfilePurpose.TX, 2, 1)

# Limits as arithmetic leaves them: float noise, too many digits, a float32 value just above 11.6, "no limit".
SCHEDULE = CompositeSchedule(
    evse_id=1,
    schedule_start=START,
    duration=3600,
    charging_rate_unit=A,
    periods=(
        CompositePeriod(0, 21.399999999999995, number_phases=3, stack_level=2, governed_by=(TX,)),
        CompositePeriod(600, 8.6956, number_phases=1, phase_to_use=2, stack_level=2, governed_by=(TX,)),
        CompositePeriod(1200, 11.600000381469727, number_phases=3, governed_by=(TX,), transformed=True),
        CompositePeriod(1800, -1.0),
    ),
)


def answer(version: OcppVersion, schedule: CompositeSchedule = SCHEDULE) -> dict[str, Any]:
    """A whole Accepted answer around the wire form."""
    wire = composite_to_wire(schedule, version)
    return {"status": "Accepted", **wire} if version is V16 else {"status": "Accepted", "schedule": wire}


def validate(version: OcppVersion, payload: dict[str, Any]) -> None:
    """What the ``ocpp`` package does with a GetCompositeSchedule answer it receives."""
    if version is V16:
        validator = get_validator(MessageType.CallResult, "GetCompositeSchedule", "1.6", parse_float=Decimal)
        payload = json.loads(json.dumps(payload), parse_float=Decimal)
    else:
        validator = get_validator(MessageType.CallResult, "GetCompositeSchedule", version.value)
    validator.validate(payload)


def periods(version: OcppVersion) -> list[dict[str, Any]]:
    wire = composite_to_wire(SCHEDULE, version)
    return (wire["chargingSchedule"] if version is V16 else wire)["chargingSchedulePeriod"]


@pytest.mark.parametrize("version", [V16, V201])
def test_wire_composite_is_valid_against_the_ocpp_schemas(version):
    validate(version, answer(version))


@pytest.mark.parametrize("version", [V16, V201])
def test_wire_limits_have_one_fraction_digit_truncated(version):
    assert [p["limit"] for p in periods(version)] == [21.4, 8.6, 11.6, -1.0]


def test_v16_wire_form_is_the_answer_pieces_without_start_schedule_or_phase_to_use():
    wire = composite_to_wire(SCHEDULE, V16)
    assert set(wire) == {"connectorId", "scheduleStart", "chargingSchedule"}
    assert wire["connectorId"] == 1 and wire["scheduleStart"] == "2026-03-02T08:00:00Z"
    assert set(wire["chargingSchedule"]) == {"duration", "chargingRateUnit", "chargingSchedulePeriod"}
    assert periods(V16)[1] == {"startPeriod": 600, "limit": 8.6, "numberPhases": 1}


def test_v201_wire_form_is_a_composite_schedule_type():
    wire = composite_to_wire(SCHEDULE, V201)
    assert set(wire) == {"evseId", "duration", "scheduleStart", "chargingRateUnit", "chargingSchedulePeriod"}
    assert periods(V201)[1] == {"startPeriod": 600, "limit": 8.6, "numberPhases": 1, "phaseToUse": 2}
    assert periods(V201)[3] == {"startPeriod": 1800, "limit": -1.0}


@pytest.mark.parametrize("version", [V16, V201])
def test_wire_composite_reads_back_as_the_same_schedule(version):
    reported = reported_composite_from_json(answer(version), version)
    assert reported is not None
    assert (reported.schedule_start, reported.duration, reported.charging_rate_unit) == (START, 3600, A)
    assert [(p.start_period, p.limit, p.number_phases) for p in reported.periods] == [
        (0, 21.4, 3), (600, 8.6, 1), (1200, 11.6, 3), (1800, -1.0, None),
    ]


@pytest.mark.parametrize("version", [V16, V201])
def test_annotated_json_is_not_wire_json(version):
    annotated = composite_to_json(SCHEDULE)
    payload = (
        {"status": "Accepted", "connectorId": 1, "scheduleStart": annotated["scheduleStart"], "chargingSchedule": {
            k: annotated[k] for k in ("duration", "chargingRateUnit", "chargingSchedulePeriod")}}
        if version is V16 else {"status": "Accepted", "schedule": annotated}
    )
    with pytest.raises(ValidationError):
        validate(version, payload)


def test_versions_without_a_wire_form_are_refused():
    with pytest.raises(ValueError, match=r"OCPP 2\.1"):
        composite_to_wire(SCHEDULE, OcppVersion.V21)
