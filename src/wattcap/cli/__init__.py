"""The ``wattcap`` command line."""

from __future__ import annotations

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


def main() -> None:
    _register()
    app()
