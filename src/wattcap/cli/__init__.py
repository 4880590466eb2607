"""The ``wattcap`` command line."""

from __future__ import annotations

import asyncio
import gc
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


def settle_heap() -> bool:
    """Keep what exists now — modules, schemas, the app, the store's metadata, the sites — out of the garbage
    collector's full passes (``gc.freeze()``).

    Call once, when a server has started up and before it serves. Under load at 300 stations, full collections
    scanning the start-up heap took about 9 % of ``wattcap serve``'s CPU with pauses up to 0.66 s; with it frozen,
    under 1 % and 0.2 s (``docs/benchmarks.md``, "Load", second round). Frozen objects are never scanned nor freed
    by the collector: only what lives for the whole process is frozen here, and only once (objects of stations
    that come and go are not, so their reference cycles are still collected). ``WATTCAP_GC=default`` keeps Python's
    behaviour. Returns whether the heap was settled."""
    if os.environ.get("WATTCAP_GC", "tuned").lower() == "default":
        return False
    gc.collect()
    gc.freeze()
    return True


def main() -> None:
    fast_event_loop()
    _register()
    app()
