"""The OpenAPI schema against the app itself: schemathesis generates requests from the schema for every operation
(in-process ASGI, a bounded, derandomized number of examples) and checks that no answer is a 5xx and that answers
conform to the schema (status codes, content types, bodies)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from wattcap.core.lifecycle import DEFAULT_BANDS
from wattcap.core.model import OcppVersion
from wattcap.server.runtime import ControlPlane
from wattcap.server.settings import Settings
from wattcap.store import Repository, create_engine

from .site import LIFECYCLE, grant

EXAMPLES = settings(
    max_examples=10, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(HealthCheck),
)
STATION = "CP1"


async def _prepare(url: str) -> str:
    """A registered (offline) station and an operator token granted everything."""
    async with await Repository.open(url) as repository:
        await repository.add_station(STATION, ocpp_version=OcppVersion.V201.value)
        everything = grant(stations=["*"], sites=["*"], bands=[b.name for b in DEFAULT_BANDS],
                           signals=["site_limit", "building_load", "price", "solar"])
        await repository.put_api_client("fuzzer", everything.to_json())
        return (await repository.create_api_token("fuzzer")).token


# Built at import, as the schema is: ``schemathesis.pytest.from_fixture`` does not run under pytest 9. The engine
# connects only when used, in schemathesis' event loop, where the app's lifespan runs the plane too.
# In memory where the machine has it: the store syncs every commit to disk, and hundreds of requests add up.
_DIRECTORY = tempfile.TemporaryDirectory(prefix="wattcap-schemathesis-", dir="/dev/shm" if Path("/dev/shm").is_dir()
                                         else None)
URL = f"sqlite+aiosqlite:///{Path(_DIRECTORY.name) / 'wattcap.db'}"
PLANE = ControlPlane(Settings(call_timeout_s=1.0), Repository(create_engine(URL)), lifecycle=LIFECYCLE,
                     owns_repository=True)
APP = PLANE.app()
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP  # calls go to the app in-process (ASGI), as from_asgi would set up
# For the requests on an existing station: fuzzing only (the coverage phase's boundary values are the first test's).
FUZZING = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
fuzzing_schema = schemathesis.openapi.from_dict(APP.openapi(), config=FUZZING)
fuzzing_schema.app = APP


@pytest.fixture(scope="module")
def token() -> Iterator[str]:
    yield asyncio.run(_prepare(URL))
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()  # closes the plane (and its store) in the loop they ran in
    _DIRECTORY.cleanup()


@schema.parametrize()
@EXAMPLES
def test_every_operation_conforms_to_its_schema(case: schemathesis.Case, token: str) -> None:
    """Every check but ``positive_data_acceptance``: what OpenAPI cannot say across fields (``until`` after
    ``since``; a dry run names ``profile_id`` or ``band`` and ``evse_id``) is rightly refused with 422."""
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=[positive_data_acceptance])


@fuzzing_schema.parametrize()
@EXAMPLES
def test_no_operation_on_an_existing_station_answers_5xx(case: schemathesis.Case, token: str) -> None:
    """Random path parameters mostly find no station; here they name one, so the requests get past the 404."""
    if case.path_parameters and "station_id" in case.path_parameters:
        case.path_parameters["station_id"] = STATION
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, response.text
