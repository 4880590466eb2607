"""The suite tested against every vendor personality of the simulator: it must fail exactly what each catalogue
entry says (``Personality.acceptance_failures``), and the compliant one must pass all six.

A check that cannot fail is a defect, so every check has personalities that make it fail, and nothing may end
``inconclusive`` here (a simulated site has sessions, meter values and no profiles of anyone else). One station
per personality (everest on both versions, the others alternating 2.0.1 / 1.6), run concurrently in two worker
processes (each its own control plane and its own stations' process), on a clock running eight times the wall
clock that the control plane shares with the stations, starting at a fixed evening so the overnight change is
read back the same way every time. About 100 s on two cores: the control plane's work per station is the bound.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wattcap.acceptance.checks import ALL_CHECKS, AcceptanceTest, CheckVerdict
from wattcap.acceptance.evidence import CheckResult
from wattcap.acceptance.simulated import acceptance_station, run_simulated_sharded
from wattcap.core.model import OcppVersion
from wattcap.sim.personalities import PERSONALITIES
from wattcap.sim.spec import StationSpec

START = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
SPEED = 8.0


def _site() -> list[StationSpec]:
    specs = [acceptance_station("everest", OcppVersion.V16), acceptance_station("everest", OcppVersion.V201)]
    others = [name for name in PERSONALITIES if name != "everest"]
    for i, name in enumerate(others):
        specs.append(acceptance_station(name, OcppVersion.V201 if i % 2 == 0 else OcppVersion.V16))
    return specs


SITE = _site()


@pytest.fixture(scope="module")
def results() -> dict[tuple[str, AcceptanceTest], CheckResult]:
    reports = run_simulated_sharded(SITE, shards=2, speed=SPEED, start=START)
    return {(r.station_id, r.check): r for report in reports for r in report.results}


def test_every_personality_is_on_the_simulated_site():
    assert {s.personality.name for s in SITE} == set(PERSONALITIES)


def test_every_check_has_a_personality_that_fails_it():
    failing = {check for p in PERSONALITIES.values() for check in p.acceptance_failures}
    assert failing == set(ALL_CHECKS)


@pytest.mark.parametrize("spec", SITE, ids=lambda s: s.station_id)
def test_the_suite_fails_exactly_the_checks_the_catalogue_names(spec: StationSpec, results):
    mine = {check: results[spec.station_id, check] for check in ALL_CHECKS}
    why = "\n".join(f"  {c.value}: {r.verdict.value}: {r.reason}" for c, r in mine.items())
    assert not [c for c, r in mine.items() if r.verdict is CheckVerdict.INCONCLUSIVE], why
    failed = {c for c, r in mine.items() if r.verdict.failed}
    assert failed == spec.personality.acceptance_failures, why
