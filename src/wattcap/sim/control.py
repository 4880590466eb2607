"""Driving a running simulation by hand: one text command per line (``wattcap simulate`` reads them on stdin).

Commands (``STATION`` is a station id or ``all`` where it makes sense)::

    plug STATION EVSE [MODEL] [SOC] [TOKEN|-]   an EV arrives (``-``: it waits for a remote start)
    unplug STATION EVSE                          it leaves, ending its transaction
    drop STATION|all                             cut the link to the control plane and keep it down
    restore STATION|all                          let it reconnect (the queue is sent in order)
    reboot STATION|all                           reset: transactions end, profiles are kept
    status                                       fleet totals
    help
"""

from __future__ import annotations

import asyncio
import shlex

from wattcap.sim.ev import EV, EV_MODELS, ev_model
from wattcap.sim.runner import Simulation, StationRunner
from wattcap.sim.scenario import default_token

HELP = __doc__.split("::", 1)[1].strip("\n") if __doc__ else ""


class CommandError(ValueError):
    """A command that cannot be carried out; the message says why."""


def apply_command(sim: Simulation, line: str) -> str | None:
    """Carry out one command line. Returns the reply, or None when it names only stations this process does not
    run (so the parent of ``--processes K`` prints one reply, not K)."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if not words:
        return None
    verb, args = words[0].lower(), words[1:]
    if verb == "help":
        return HELP
    if verb == "status":
        return " ".join(f"{k}={v}" for k, v in sim.summary().items())
    if verb in ("drop", "restore", "reboot"):
        runners = _targets(sim, args)
        if runners is None:
            return None
        for runner in runners:
            if verb == "drop":
                runner.drop_link()
            elif verb == "restore":
                runner.restore_link()
            else:
                runner.schedule_reboot()
        return f"{verb}: {len(runners)} station(s)"
    if verb in ("plug", "unplug"):
        if len(args) < 2:
            raise CommandError(f"usage: {verb} STATION EVSE")
        runner = sim.runners.get(args[0])
        if runner is None:
            return None
        evse_id = _int(args[1], "EVSE")
        if evse_id not in runner.station.evse_ids:
            raise CommandError(f"{args[0]} has no EVSE {evse_id}")
        if verb == "unplug":
            runner.unplug(evse_id)
            return f"unplugged {args[0]} EVSE {evse_id}"
        return _plug(runner, evse_id, args[2:])
    raise CommandError(f"unknown command {verb!r}; try 'help'")


def _targets(sim: Simulation, args: list[str]) -> list[StationRunner] | None:
    if len(args) != 1:
        raise CommandError("name one station, or all")
    if args[0] == "all":
        return list(sim.runners.values())
    runner = sim.runners.get(args[0])
    return None if runner is None else [runner]


def _plug(runner: StationRunner, evse_id: int, rest: list[str]) -> str:
    model = rest[0] if rest else "compact"
    try:
        spec = ev_model(model)
    except KeyError as exc:
        raise CommandError(f"unknown EV model {model!r}; known: {', '.join(sorted(EV_MODELS))}") from exc
    soc = _fraction(rest[1]) if len(rest) > 1 else 0.3
    token: str | None = rest[2] if len(rest) > 2 else default_token(runner.station_id, evse_id)
    if token == "-":
        token = None
    try:
        runner.plug_in(evse_id, EV(spec, soc=soc), id_token=token)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return f"plugged a {model} into {runner.station_id} EVSE {evse_id}"


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CommandError(f"{what} must be a number, got {text!r}") from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"SOC must be a number between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise CommandError(f"SOC must be between 0 and 1, got {text!r}")
    return value


async def serve_commands(sim: Simulation, lines: asyncio.Queue[str | None], reply) -> None:
    """Apply commands from ``lines`` (None ends) and pass each reply to ``reply``."""
    while (line := await lines.get()) is not None:
        try:
            answer = apply_command(sim, line)
        except CommandError as exc:
            answer = f"error: {exc}"
        if answer:
            reply(answer)
