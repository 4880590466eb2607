"""Server settings: one frozen dataclass, filled from ``WATTCAP_*`` environment variables, a TOML file or by hand.

Every knob that changes what a charger experiences (subprotocols, authentication, limits, TLS) lives here, so
the CLI, the tests and the settings file (:mod:`wattcap.server.settings_file`) build the same object.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum

from wattcap.core.model import OcppVersion

#: WebSocket subprotocol name of each OCPP version (OCPP-J).
SUBPROTOCOLS: Mapping[OcppVersion, str] = {OcppVersion.V16: "ocpp1.6", OcppVersion.V201: "ocpp2.0.1"}


#: A node id or NATS prefix: one NATS subject token and part of a bucket name.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class UnknownStationPolicy(StrEnum):
    """What to do with a station id the backend does not know."""

    REJECT = "reject"  # refuse the WebSocket upgrade (HTTP 401)
    PENDING = "pending"  # accept, mark pending in the backend, answer BootNotification with Pending


class SettingsError(ValueError):
    """A setting (usually an environment variable) with a value that cannot be used."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 9000
    #: OCPP versions in the server's order of preference; when a charger offers several, the first wins.
    versions: tuple[OcppVersion, ...] = (OcppVersion.V201, OcppVersion.V16)
    #: Accept a charger that offers no subprotocol as OCPP 1.6 (some real 1.6 chargers send none).
    accept_no_subprotocol: bool = True
    #: Security profile 1 and 2: HTTP Basic auth with the per-station password is required.
    require_auth: bool = True
    unknown_stations: UnknownStationPolicy = UnknownStationPolicy.REJECT
    #: Largest accepted WebSocket message; larger ones close the connection (1009).
    max_frame_bytes: int = 256 * 1024
    #: Sustained messages per second a station may send, and the burst above that it may spend at once.
    rate_limit_per_s: float = 20.0
    rate_limit_burst: int = 100
    heartbeat_interval_s: int = 300
    #: How long a CSMS → station call waits for its answer.
    call_timeout_s: float = 30.0
    ws_ping_interval_s: float | None = 20.0
    ws_ping_timeout_s: float | None = 20.0
    #: Security profile 2: TLS certificate and key files (PEM); both or neither.
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    #: Log every OCPP frame (passwords masked) on the ``wattcap.ocpp.frames`` logger.
    log_frames: bool = False
    #: Where the store is (SQLAlchemy URL); None: ``./data/wattcap.db`` (see :func:`wattcap.store.database_url`).
    database_url: str | None = None
    #: Whether an id token the site does not know may charge. True by default: wattcap manages power, not
    #: billing, and a fresh site should charge whatever card is presented (the charger's own local list still
    #: applies). Blocked and expired tokens are refused either way; set False once the site's tokens are
    #: registered.
    accept_unknown_tokens: bool = True
    #: The site file (TOML or JSON, ``docs/site-cap.md``): with it, the site cap keeps each site under its
    #: connection limit; without it, wattcap sets only the profiles it is asked for.
    sites_file: str | None = None
    #: The fleet rules file (YAML, ``docs/fleet.md``): with it, every session gets its rule's weight, priority,
    #: ceiling or planned goal; without it, the rules can still be put in force through the API.
    rules_file: str | None = None
    #: The MQTT broker for site signals in and per-EVSE telemetry out (None: no MQTT bridge).
    mqtt_host: str | None = None
    mqtt_port: int = 1883
    mqtt_prefix: str = "wattcap"
    #: The API client whose grant governs what MQTT messages may set (None: every signal is taken).
    mqtt_client: str | None = None
    #: The NATS server (JetStream on) of a cluster of wattcap nodes over one PostgreSQL database
    #: (``docs/deployment.md``). None, the default: a single node, nothing leaves this process.
    nats_url: str | None = None
    #: This node's name in the cluster, unique per running process (None: host name and process id).
    node_id: str | None = None
    #: Prefix of every NATS subject and bucket name, so several clusters (or test runs) can share one server.
    nats_prefix: str = "wattcap"
    #: Seconds a site's site-cap leadership outlives its node: renewed every quarter of it, given up by a node
    #: that could not renew for half of it, taken over by another node once it expired.
    cluster_lease_s: float = 6.0

    def __post_init__(self) -> None:
        if not self.versions:
            raise SettingsError("at least one OCPP version must be served")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise SettingsError("TLS needs both a certificate and a key file")
        if self.max_frame_bytes <= 0 or self.rate_limit_per_s <= 0 or self.rate_limit_burst <= 0:
            raise SettingsError("frame size and rate limits must be positive")
        if not isinstance(self.nats_prefix, str) or not _NAME.fullmatch(self.nats_prefix):
            raise SettingsError(f"nats_prefix {self.nats_prefix!r}: letters, digits, '-' and '_' only")
        if self.node_id is not None and not _NAME.fullmatch(self.node_id):
            raise SettingsError(f"node_id {self.node_id!r}: letters, digits, '-' and '_' only")
        if self.cluster_lease_s < 1:
            raise SettingsError("cluster_lease_s must be at least 1 second")

    @property
    def tls(self) -> bool:
        return self.tls_certfile is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``WATTCAP_<FIELD>`` variables (e.g. ``WATTCAP_PORT``); unset ones keep their default.

        ``WATTCAP_VERSIONS`` is a comma list of subprotocols or versions (``ocpp2.0.1,ocpp1.6``); booleans
        accept 1/0, true/false, yes/no, on/off; ``WATTCAP_WS_PING_INTERVAL_S=none`` disables pings.
        """
        try:
            return cls(**env_values(environ))
        except SettingsError as exc:
            raise SettingsError(f"environment: {exc}") from None


def env_values(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The settings given as ``WATTCAP_<FIELD>`` variables, converted (see :meth:`Settings.from_env`)."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        variable = f"WATTCAP_{f.name.upper()}"
        if variable in environ:
            values[f.name] = convert_setting(variable, f.name, environ[variable])
    return values


_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
_FLOAT_OR_NONE = {"ws_ping_interval_s", "ws_ping_timeout_s"}
_INTS = {"port", "max_frame_bytes", "rate_limit_burst", "heartbeat_interval_s", "mqtt_port"}
_FLOATS = {"rate_limit_per_s", "call_timeout_s", "cluster_lease_s"}
_BOOLS = {"accept_no_subprotocol", "require_auth", "log_frames", "accept_unknown_tokens"}


def parse_version(text: str) -> OcppVersion:
    """``ocpp1.6`` / ``1.6`` / ``ocpp2.0.1`` / ``2.0.1`` → :class:`OcppVersion`."""
    token = text.strip().lower().removeprefix("ocpp")
    try:
        version = OcppVersion(token)
    except ValueError:
        raise SettingsError(f"{text!r} is not an OCPP version") from None
    if version not in SUBPROTOCOLS:
        raise SettingsError(f"OCPP {version} is not served")
    return version


def convert_setting(source: str, name: str, raw: str) -> object:
    """The value of setting ``name`` written as text (``source`` names where it came from, for errors)."""
    text = raw.strip()
    try:
        if name in _BOOLS:
            return _BOOLEANS[text.lower()]
        if name in _INTS:
            return int(text)
        if name in _FLOATS:
            return float(text)
        if name in _FLOAT_OR_NONE:
            return None if text.lower() in ("", "none", "off") else float(text)
        if name == "versions":
            return tuple(parse_version(part) for part in text.split(",") if part.strip())
        if name == "unknown_stations":
            return UnknownStationPolicy(text.lower())
    except (KeyError, ValueError) as exc:
        raise SettingsError(f"{source}={raw!r} is not valid ({exc})") from None
    return text or None
