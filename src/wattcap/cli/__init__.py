"""The ``wattcap`` command line."""

from __future__ import annotations

import asyncio
import os

import typer

app = typer.Typer(
    name="wattcap",
    help="Smart-charging control plane for EV charging sites (OCPP 1.6J and 2.0.1).",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Smart-charging control plane for EV charging sites (OCPP 1.6J and 2.0.1)."""


def _register() -> None:
    from wattcap.cli import (
        acceptance,  # noqa: F401  (registers its command)
        composite,  # noqa: F401  (registers its command)
        demo,  # noqa: F401  (registers its command)
        rules,  # noqa: F401  (registers its commands)
        serve,  # noqa: F401  (registers its command)
        simulate,  # noqa: F401  (registers its command)
        station,  # noqa: F401  (registers its commands)
        token,  # noqa: F401  (registers its commands)
    )


def fast_event_loop() -> bool:
    """Run the command's event loops on uvloop when it is installed (the ``fast`` extra): about a third more
    OCPP messages per second for ``wattcap serve`` (``docs/benchmarks.md``, "Load"). ``WATTCAP_EVENT_LOOP=asyncio``
    keeps the standard loop. Returns whether uvloop is in use."""
    if os.environ.get("WATTCAP_EVENT_LOOP", "auto").lower() == "asyncio":
        return False
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def main() -> None:
    fast_event_loop()
    _register()
    app()
