"""``wattcap serve``: run the control-plane server (OCPP 1.6J and 2.0.1 over WebSocket) on the database.

Settings come from, lowest precedence first: the defaults, a TOML file (``--config``, keys are the
:class:`~wattcap.server.settings.Settings` fields), ``WATTCAP_*`` environment variables, and the options
here. The database (``--database-url`` / ``WATTCAP_DATABASE_URL``, default SQLite ``./data/wattcap.db``) has its
schema created or migrated on start, so a new version of wattcap upgrades it by simply being started.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wattcap.cli import app
from wattcap.server.logs import FRAME_LOGGER

if TYPE_CHECKING:
    from wattcap.server.settings import Settings
    from wattcap.server.sitecap.config import SiteDefinition

LOGGER = logging.getLogger("wattcap.serve")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="TOML settings file; its keys are setting names (port, database_url, unknown_stations…)."
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL of the database (env: WATTCAP_DATABASE_URL; default: sqlite:///./data/wattcap.db).",
    ),
]


def configure_logging(level: int = logging.INFO, log_frames: bool = False) -> None:
    """One line per record on stderr. The ``ocpp`` package's per-message logging is filtered out at its logger
    (see :mod:`wattcap.server.logs`); the frame log replaces it, with passwords masked."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    FRAME_LOGGER.setLevel(logging.INFO if log_frames else logging.WARNING)


def shown_url(url: str) -> str:
    """``url`` fit for a log line or an error message: the password masked."""
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (env: WATTCAP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (env: WATTCAP_PORT).")] = None,
    database_url: DatabaseOption = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", help="TLS certificate (PEM), security profile 2 (env: WATTCAP_TLS_CERTFILE)."),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="TLS private key (PEM) (env: WATTCAP_TLS_KEYFILE).")
    ] = None,
    log_ocpp: Annotated[
        bool | None,
        typer.Option(
            "--log-ocpp/--no-log-ocpp", help="Log every OCPP frame, passwords masked (env: WATTCAP_LOG_FRAMES)."
        ),
    ] = None,
    sites: Annotated[
        Path | None,
        typer.Option("--sites", help="Site file (TOML/JSON): keep each site under its cap (env: WATTCAP_SITES_FILE)."),
    ] = None,
    mqtt_host: Annotated[
        str | None, typer.Option("--mqtt-host", help="MQTT broker for site signals (env: WATTCAP_MQTT_HOST).")
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Fleet rules file (YAML): the rule, goal and plan of every session "
                     "(env: WATTCAP_RULES_FILE)."),
    ] = None,
    nats_url: Annotated[
        str | None,
        typer.Option("--nats-url", help="NATS server (JetStream on) of a cluster of nodes over one PostgreSQL "
                     "database; unset: a single node (env: WATTCAP_NATS_URL)."),
    ] = None,
    node_id: Annotated[
        str | None,
        typer.Option("--node-id", help="This node's name in the cluster (env: WATTCAP_NODE_ID; default: host-pid)."),
    ] = None,
) -> None:
    """Run the control plane: chargers connect to ws://HOST:PORT/ocpp/STATION_ID (wss:// with TLS); the HTTP API is
    at /api/v1 (OpenAPI at /docs), the live stream at /api/v1/stream, Prometheus metrics at /metrics."""
    from wattcap.server.settings import SettingsError
    from wattcap.server.settings_file import load_settings
    from wattcap.store import database_url as resolve_database_url

    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("--tls-cert and --tls-key go together", param_hint="--tls-cert/--tls-key")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise typer.BadParameter(f"{path}: no such file", param_hint="--tls-cert/--tls-key")
    try:
        settings = load_settings(
            config,
            host=host,
            port=port,
            database_url=database_url,
            tls_certfile=None if tls_cert is None else str(tls_cert),
            tls_keyfile=None if tls_key is None else str(tls_key),
            log_frames=log_ocpp,
            sites_file=None if sites is None else str(sites),
            mqtt_host=mqtt_host,
            rules_file=None if rules is None else str(rules),
            nats_url=nats_url,
            node_id=node_id,
        )
    except SettingsError as exc:
        raise typer.BadParameter(str(exc)) from None
    configure_logging(log_frames=settings.log_frames)
    site_definitions = _sites(settings)
    fleet_rules = _rules(settings)
    url = resolve_database_url(settings)
    if settings.nats_url and url.startswith("sqlite"):
        # Every node must see every other node's writes: a SQLite file is one machine's, and one process's writer.
        raise typer.BadParameter("a cluster (--nats-url) needs PostgreSQL: set --database-url postgresql://...",
                                 param_hint="--database-url")
    try:
        asyncio.run(_serve(settings, url, site_definitions, fleet_rules))
    except KeyboardInterrupt:  # Ctrl+C: uvicorn has shut down gracefully and re-raised it
        pass
    except (_DatabaseUnavailable, SettingsError) as exc:
        typer.echo(f"wattcap serve: {exc}", err=True)
        raise typer.Exit(1) from None


class _DatabaseUnavailable(Exception):
    pass


def _sites(settings: Settings) -> tuple[SiteDefinition, ...]:
    """The site file's sites (checked before anything starts), or none."""
    from wattcap.server.sitecap.config import SiteConfigError, load_sites

    if settings.sites_file is None:
        return ()
    try:
        return load_sites(Path(settings.sites_file))
    except SiteConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--sites") from None


def _rules(settings: Settings) -> tuple[Any, str] | None:
    """The rules file's rule set and text (refused before anything starts, every issue with its line), or none."""
    from wattcap.core.fleet.document import RuleFileError
    from wattcap.core.fleet.loader import load_rules

    if settings.rules_file is None:
        return None
    path = Path(settings.rules_file)
    try:
        text = path.read_text(encoding="utf-8")
        return load_rules(text, str(path)), text
    except OSError as exc:
        raise typer.BadParameter(f"{path}: {exc.strerror or exc}", param_hint="--rules") from None
    except RuleFileError as exc:
        raise typer.BadParameter(f"the rules were refused:\n{exc}", param_hint="--rules") from None


async def _serve(
    settings: Settings, url: str, sites: tuple[SiteDefinition, ...] = (), rules: tuple[Any, str] | None = None
) -> None:
    """Open (and migrate) the store, then serve until uvicorn is told to stop (SIGINT/SIGTERM)."""
    import sqlalchemy.exc
    import uvicorn

    from wattcap.cli import settle_heap
    from wattcap.server.app import uvicorn_config
    from wattcap.server.runtime import ControlPlane
    from wattcap.store import schema_revision

    try:
        plane = await ControlPlane.open(settings, url)
    except (OSError, sqlalchemy.exc.SQLAlchemyError) as exc:
        raise _DatabaseUnavailable(f"cannot open the database {shown_url(url)}: {exc}") from exc
    try:
        repository = plane.repository
        revision = await schema_revision(repository.engine)
        LOGGER.info("store.ready url=%s schema_revision=%s", shown_url(url), revision)
        if settings.accept_unknown_tokens:
            LOGGER.info("auth.tokens unknown id tokens are accepted (accept_unknown_tokens = true)")
        if not settings.tls and any(s.security_profile == 2 for s in await repository.list_stations()):
            # Not refused: TLS may end at a reverse proxy in front of wattcap, which this process cannot see.
            LOGGER.warning("auth.tls stations with security profile 2 expect TLS: use --tls-cert/--tls-key or a proxy")
        if sites:
            from wattcap.server.sitecap.service import MqttSettings, attach_site_cap

            mqtt = None if settings.mqtt_host is None else MqttSettings(
                settings.mqtt_host, settings.mqtt_port, settings.mqtt_prefix, settings.mqtt_client
            )
            attach_site_cap(plane, sites, mqtt=mqtt)
            for site in sites:
                LOGGER.info(
                    "sitecap.site id=%s evses=%d root=%s lease_s=%d fallback=%s", site.id, len(site.topology.evses),
                    site.root().id, site.lease_s, site.fallback,
                )
        # Always on: without a rules file the rules can still be put in force through the API.
        from wattcap.server.fleet import attach_fleet

        fleet = attach_fleet(plane, None if rules is None else rules[0], rules_text=None if rules is None else rules[1])
        if fleet.rules is not None:
            LOGGER.info("fleet.rules file=%s rules=%d vehicles=%d timezone=%s", settings.rules_file,
                        len(fleet.rules.rules), len(fleet.rules.vehicles), fleet.rules.timezone)
        if not await repository.list_api_tokens(include_revoked=False):
            LOGGER.info("api.tokens no API token yet: create one with `wattcap token create --client NAME ...`")
        # The app's lifespan starts the plane inside the server's event loop and closes it (and the store) in the
        # shutdown: once serve() returns, uvicorn raises the SIGINT/SIGTERM it caught again, and anything still
        # awaiting after that is cancelled half-way.
        app = plane.app()
        settle_heap()  # everything built so far lives as long as the process
        await uvicorn.Server(uvicorn_config(app, settings)).serve()
    finally:
        await plane.close()  # a no-op after the lifespan closed it; the server may never have started
