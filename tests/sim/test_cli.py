"""``wattcap simulate`` and its stdin commands, end to end against the minimal central system."""

from __future__ import annotations

import asyncio
import io

import pytest
from typer.testing import CliRunner

from wattcap.cli import _register, app
from wattcap.sim.clock import AcceleratedClock
from wattcap.sim.control import CommandError, apply_command
from wattcap.sim.fleet import FleetOptions, VersionMix, make_fleet
from wattcap.sim.launcher import LaunchConfig, launch
from wattcap.sim.personalities import PERSONALITIES
from wattcap.sim.runner import RunOptions, Simulation

from .csms import MiniCsms

_register()
cli = CliRunner()


def test_list_personalities_shows_the_catalogue():
    result = cli.invoke(app, ["simulate", "--list-personalities"], terminal_width=200)
    assert result.exit_code == 0
    for name, personality in PERSONALITIES.items():
        assert name in result.output
        assert str(personality.fails or "-") in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--csms", "ws://x", "--personality", "everest,nope"], "nope"),
        (["--csms", "ws://x", "--arrivals", "no-such-file.json"], "scenario file"),
        (["--stations", "2"], "--csms"),
        (["--csms", "ws://x", "--current", "XC"], "AC or DC"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(args, message):
    result = cli.invoke(app, ["simulate", *args], terminal_width=200)
    assert result.exit_code != 0
    assert message in result.output


def _simulation() -> Simulation:
    fleet = make_fleet(FleetOptions(count=2, evses=2))
    return Simulation(fleet, AcceleratedClock(1), RunOptions("ws://127.0.0.1:1/ocpp"))


def test_commands_drive_stations_one_step_at_a_time():
    sim = _simulation()
    assert apply_command(sim, "plug SIM-001 2 van 0.4") == "plugged a van into SIM-001 EVSE 2"
    assert sim.runner("SIM-001").station.evse(2).ev.spec.model == "van"
    apply_command(sim, "unplug SIM-001 2")
    assert sim.runner("SIM-001").station.evse(2).ev is None
    apply_command(sim, "plug SIM-002 1 city 0.2 -")  # waits for a remote start: no token presented
    assert sim.runner("SIM-002").outbox.queued() == ()
    assert apply_command(sim, "drop all") == "drop: 2 station(s)"
    assert not sim.runner("SIM-002").link_up
    apply_command(sim, "restore SIM-002")
    assert sim.runner("SIM-002").link_up and not sim.runner("SIM-001").link_up
    assert apply_command(sim, "plug SIM-999 1") is None  # another process's station
    assert "stations=2" in apply_command(sim, "status")
    assert "plug STATION EVSE" in apply_command(sim, "help")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("fly SIM-001", "unknown command"),
        ("plug SIM-001", "usage"),
        ("plug SIM-001 9", "no EVSE 9"),
        ("plug SIM-001 one", "must be a number"),
        ("plug SIM-001 1 tractor", "unknown EV model"),
        ("plug SIM-001 1 van 7", "between 0 and 1"),
        ("drop", "name one station"),
    ],
)
def test_bad_commands_say_why(line, message):
    with pytest.raises(CommandError, match=message):
        apply_command(_simulation(), line)


@pytest.mark.parametrize("processes", [1, 2])
async def test_launch_runs_a_fleet_and_takes_commands(processes):
    async with MiniCsms() as csms:
        replies: list[str] = []
        config = LaunchConfig(
            fleet=FleetOptions(count=4, versions=VersionMix.MIXED, evses=1),
            run=RunOptions(csms.url, password="secret", meter_interval_s=60),
            arrivals="now",
            speed=60.0,
            duration_s=120.0,
            processes=processes,
            status_every_s=0,
        )
        commands = io.StringIO("drop SIM-004\n")
        await asyncio.to_thread(launch, config, commands=commands, out=replies.append)
        booted = {sid for sid, log in csms.logs.items() if log.of("BootNotification")}
        assert booted == {"SIM-001", "SIM-002", "SIM-003"}  # SIM-004 was dropped before it connected
        assert {csms.log(s).subprotocol for s in booted} == {"ocpp1.6", "ocpp2.0.1"}
        assert all(csms.log(s).authorization.startswith("Basic ") for s in booted)
        assert csms.log("SIM-001").of("StartTransaction") and csms.log("SIM-002").of("TransactionEvent")
        if processes == 1:
            assert "drop: 1 station(s)" in replies
