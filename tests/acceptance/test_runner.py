"""The runner on a live site: it leaves the stations as it found them (also when interrupted), refuses to start
when its planned limits could exceed the site cap, and says so when a station is not there.

One simulated station (in this process) against the in-process control plane, on a clock ten times the wall
clock; only the quick checks run here (the whole suite against every personality is ``test_personalities``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from wattcap.acceptance.checks import AcceptanceTest, CheckVerdict
from wattcap.acceptance.control_plane import InProcessPlane, in_process_plane
from wattcap.acceptance.plan import AcceptanceSettings, station_max_profile
from wattcap.acceptance.restore import plan_restore
from wattcap.acceptance.runner import AcceptanceRefused, run_acceptance
from wattcap.acceptance.simulated import acceptance_station, simulated_site
from wattcap.core.model import OcppVersion
from wattcap.server.lifecycle_types import LifecycleSettings
from wattcap.server.settings import Settings
from wattcap.sim.clock import AcceleratedClock
from wattcap.store import DesiredProfile

from .helpers import facts

SPEED = 10.0
SETTINGS = AcceptanceSettings.simulated(10.0, connect_timeout_s=5.0)


@asynccontextmanager
async def site(tmp_path, version=OcppVersion.V201) -> AsyncIterator[tuple[InProcessPlane, AcceleratedClock, str]]:
    clock = AcceleratedClock(SPEED)
    server = Settings(host="127.0.0.1", port=0, require_auth=False)
    lifecycle = LifecycleSettings(min_write_interval_s=0, reconcile_interval_s=None)
    spec = acceptance_station("everest", version)
    async with (
        in_process_plane(server, f"sqlite+aiosqlite:///{tmp_path / 'site.db'}", clock=clock.now,
                         lifecycle=lifecycle) as plane,
        simulated_site(plane, [spec], clock, meter_interval_s=10.0),
    ):
        yield plane, clock, spec.station_id


async def held_before(plane: InProcessPlane, clock: AcceleratedClock, station_id: str) -> list[DesiredProfile]:
    """A station max the site already held before the suite (the operator's own): it must survive the run."""
    profile = station_max_profile(facts(), 40.0, clock.now())
    await plane.profiles.set_profile(station_id, 0, profile, band="site-cap", actor="operator")
    return await plane.profiles.list_profiles(station_id)


async def test_a_run_leaves_the_profiles_it_found_and_nothing_of_its_own(tmp_path):
    async with site(tmp_path) as (plane, clock, station_id):
        before = await held_before(plane, clock, station_id)
        report = await run_acceptance(plane, [station_id], checks=[AcceptanceTest.VENDOR_VARIANCE],
                                      settings=SETTINGS, sleep=clock.sleep)
        after = await plane.profiles.list_profiles(station_id)
        operations = await plane.repository.list_operations(station_id, limit=None)
    assert [r.verdict for r in report.results] == [CheckVerdict.PASS], report.results[0].reason
    assert [(d.profile_id, d.wire) for d in after] == [(d.profile_id, d.wire) for d in before]
    assert any(o.action == "SetChargingProfile" and o.profile_id != before[0].profile_id for o in operations)


async def test_ctrl_c_mid_check_still_restores_the_stations(tmp_path):
    async with site(tmp_path) as (plane, clock, station_id):
        before = await held_before(plane, clock, station_id)
        run = asyncio.create_task(run_acceptance(plane, [station_id], checks=[AcceptanceTest.SCOPE],
                                                 settings=SETTINGS, sleep=clock.sleep))

        async def suite_profile_set() -> None:
            while len(await plane.profiles.list_profiles(station_id)) <= len(before):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(suite_profile_set(), 30)
        run.cancel()  # what asyncio.run does with the main task on Ctrl-C
        with pytest.raises(asyncio.CancelledError):
            await run
        after = await plane.profiles.list_profiles(station_id)
    assert [d.profile_id for d in after] == [d.profile_id for d in before]


async def test_it_refuses_to_start_when_its_planned_limits_could_exceed_the_site_cap(tmp_path):
    async with site(tmp_path) as (plane, clock, station_id):
        sent = len(await plane.repository.list_operations(station_id, limit=None))
        tight = AcceptanceSettings.simulated(10.0, site_cap_a=40.0)
        with pytest.raises(AcceptanceRefused, match="above the site cap of 40 A"):
            await run_acceptance(plane, [station_id], settings=tight, sleep=clock.sleep)
        assert len(await plane.repository.list_operations(station_id, limit=None)) == sent  # nothing was sent


async def test_a_station_that_does_not_connect_is_inconclusive(tmp_path):
    async with site(tmp_path) as (plane, clock, _):
        await plane.repository.add_station("ABSENT", ocpp_version="2.0.1")
        report = await run_acceptance(plane, ["ABSENT"], checks=[AcceptanceTest.SCOPE], settings=SETTINGS,
                                      sleep=clock.sleep)
    [result] = report.results
    assert result.verdict is CheckVerdict.INCONCLUSIVE and "did not connect" in result.reason


def desired(profile_id: int, *, status="installed", wire=None, transaction_id=None) -> DesiredProfile:
    return DesiredProfile("CP1", 1, profile_id, "TxDefaultProfile", 0, "default", "2.0.1", wire or {"id": profile_id},
                          status, transaction_id)


def test_restore_clears_only_the_suites_profiles_and_sets_back_what_changed():
    before = [desired(1), desired(2, wire={"v": 1}), desired(3, transaction_id="T9")]
    after = [desired(2, wire={"v": 2}), desired(30_000), desired(40_000)]  # 1 and 3 gone, 2 changed
    plan = plan_restore(before, after, added={30_000}, running_transactions=[])
    assert plan.clear == (30_000,)
    assert [d.profile_id for d in plan.reset] == [1, 2]
    assert plan.skipped == ("profile 3: its transaction T9 ended, a TxProfile cannot return",)
    assert plan.foreign == (40_000,)  # not the suite's: named, never cleared


def test_timeouts_are_station_seconds():
    assert SETTINGS.connect_timeout_s == 5.0 and timedelta(seconds=SETTINGS.reaction_s) == timedelta(seconds=5)
