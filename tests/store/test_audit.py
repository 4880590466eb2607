"""The audit log and verification results: append-only, read back in the order they were written."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from wattcap.core.verification import Difference, Verdict
from wattcap.store import Repository, UnknownStationError

from .conftest import FakeClock


async def test_audit_entries_come_back_in_append_order(repo: Repository, clock: FakeClock) -> None:
    target = f"station/{uuid.uuid4().hex}"
    later, earlier = clock.now + timedelta(minutes=5), clock.now
    ids = [
        await repo.append_audit("alice", "set-limit", target=target, at=later, before={"A": 32}, after={"A": 16}),
        await repo.append_audit("scheduler", "install", target=target, at=later),  # same time as the first
        await repo.append_audit("bob", "accept-station", target=target, at=earlier, reason="commissioning"),
    ]
    entries = await repo.audit_entries(target=target)
    assert [e.id for e in entries] == ids  # append order, not time order: a log shows what happened when
    assert [e.action for e in entries] == ["set-limit", "install", "accept-station"]
    assert (entries[0].before, entries[0].after, entries[2].reason) == ({"A": 32}, {"A": 16}, "commissioning")

    assert [e.id for e in await repo.audit_entries(target=target, newest_first=True, limit=2)] == ids[:0:-1]
    assert [e.actor for e in await repo.audit_entries(target=target, actor="bob")] == ["bob"]
    assert [e.id for e in await repo.audit_entries(target=target, since=later)] == ids[:2]
    assert [e.id for e in await repo.audit_entries(target=target, until=later)] == ids[2:]


async def test_audit_stores_model_objects_as_json(repo: Repository, clock: FakeClock) -> None:
    target = f"station/{uuid.uuid4().hex}"
    await repo.append_audit("lifecycle", "diff", target=target, after=[Difference(0, 60, 16.0, None)])
    (entry,) = await repo.audit_entries(target=target)
    assert entry.after == [{"start": 0, "end": 60, "expected": 16.0, "reported": None}]
    assert entry.at == clock.now


async def test_verification_results(repo: Repository, station_id: str, clock: FakeClock) -> None:
    await repo.add_station(station_id)
    first = await repo.record_verification(
        station_id,
        1,
        Verdict.MISMATCH,
        expected={"limit": 16.0},
        reported={"limit": 32.0},
        differences=[Difference(0, 600, 16.0, 32.0)],
        detail="0s–600s: expected 16 A, reported 32 A",
    )
    clock.advance(60)
    second = await repo.record_verification(station_id, 1, Verdict.APPLIED, expected={"limit": 16.0})
    await repo.record_verification(station_id, 2, Verdict.NO_ANSWER)

    results = await repo.verification_results(station_id, evse_id=1)
    assert [(r.id, r.verdict) for r in results] == [(first, "mismatch"), (second, "applied")]
    assert results[0].differences == [{"start": 0, "end": 600, "expected": 16.0, "reported": 32.0}]
    assert (results[0].reported, results[1].reported, results[1].differences) == ({"limit": 32.0}, None, [])
    latest = await repo.verification_results(station_id, newest_first=True, limit=1)
    assert [(r.evse_id, r.verdict, r.checked_at) for r in latest] == [(2, "no_answer", clock.now)]


async def test_verification_needs_a_known_station(repo: Repository) -> None:
    with pytest.raises(UnknownStationError) as raised:
        await repo.record_verification("no-such-station", 1, Verdict.APPLIED)
    assert raised.value.station_id == "no-such-station"
