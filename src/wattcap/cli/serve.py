"""``wattcap serve``: run the control-plane server (OCPP 1.6J and 2.0.1 over WebSocket) with uvicorn.

Settings come from ``WATTCAP_*`` environment variables (see :class:`wattcap.server.settings.Settings`);
the options here override them. For now the server runs on the in-memory backend.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Annotated

import typer

from wattcap.cli import app
from wattcap.server.logs import FRAME_LOGGER


def configure_logging(level: int = logging.INFO, log_frames: bool = False) -> None:
    """One line per record on stderr. The ``ocpp`` package's per-message logging is filtered out at its logger
    (see :mod:`wattcap.server.logs`); the frame log replaces it, with passwords masked."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    FRAME_LOGGER.setLevel(logging.INFO if log_frames else logging.WARNING)


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="WATTCAP_HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="WATTCAP_PORT", help="Port to listen on.")] = 9000,
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", envvar="WATTCAP_TLS_CERTFILE", help="TLS certificate (PEM): security profile 2."),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", envvar="WATTCAP_TLS_KEYFILE", help="TLS private key (PEM).")
    ] = None,
    log_ocpp: Annotated[
        bool, typer.Option("--log-ocpp", envvar="WATTCAP_LOG_FRAMES", help="Log every OCPP frame (passwords masked).")
    ] = False,
) -> None:
    """Run the OCPP server: chargers connect to ws://HOST:PORT/ocpp/STATION_ID (wss:// with TLS)."""
    import uvicorn

    from wattcap.server.app import create_app, uvicorn_config
    from wattcap.server.backend import InMemoryBackend
    from wattcap.server.settings import Settings, SettingsError

    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("--tls-cert and --tls-key go together", param_hint="--tls-cert/--tls-key")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise typer.BadParameter(f"{path}: no such file", param_hint="--tls-cert/--tls-key")
    try:
        settings = dataclasses.replace(
            Settings.from_env(),
            host=host,
            port=port,
            tls_certfile=None if tls_cert is None else str(tls_cert),
            tls_keyfile=None if tls_key is None else str(tls_key),
            log_frames=log_ocpp,
        )
    except SettingsError as exc:
        raise typer.BadParameter(str(exc)) from None
    configure_logging(log_frames=settings.log_frames)
    application = create_app(settings, InMemoryBackend())
    uvicorn.Server(uvicorn_config(application, settings)).run()
