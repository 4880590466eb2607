"""`wattcap demo` (what `make run` runs): the simulated stations are registered so they can log in."""

from __future__ import annotations

from pathlib import Path

from wattcap.cli.demo import _register
from wattcap.core.governance import Grant
from wattcap.store import Repository


async def test_demo_registers_its_stations_and_renews_their_password_and_api_token_on_every_run(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    ids = ["SIM-001", "SIM-002"]
    first_token = await _register(url, ids, "first-run-password-123")
    second_token = await _register(url, ids, "second-run-password-456")
    async with await Repository.open(url) as repository:
        for station_id in ids:
            station = await repository.get_station(station_id)
            assert station is not None and station.security_profile == 1
            assert await repository.verify_password(station_id, "second-run-password-456")
            assert not await repository.verify_password(station_id, "first-run-password-123")
        # The API token printed for this run works; the one printed for the previous run no longer does.
        assert await repository.authenticate_api_token(first_token) is None
        _, client = await repository.authenticate_api_token(second_token)
        grant = Grant.from_json(client.grant)
        assert grant.stations == set(ids) and "operator-session" in grant.bands and not grant.read_only
