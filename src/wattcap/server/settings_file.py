"""The optional TOML settings file, and how it layers with the environment and the command line.

The file's keys are the :class:`~wattcap.server.settings.Settings` field names, at the top level::

    port = 9000
    versions = ["ocpp2.0.1", "ocpp1.6"]
    unknown_stations = "pending"
    database_url = "postgresql://wattcap@db/wattcap"
    tls_certfile = "/etc/wattcap/cert.pem"
    tls_keyfile = "/etc/wattcap/key.pem"
    ws_ping_interval_s = "none"

Precedence, lowest first: defaults, the file, ``WATTCAP_*`` variables, command-line options. The result is
validated once, so a certificate from the file and a key from the environment make one valid pair. An unknown
key is an error (a typo must not silently fall back to a default, least of all for a security setting).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from wattcap.server.settings import Settings, SettingsError, convert_setting, env_values

_FIELDS = {f.name for f in fields(Settings)}


def file_values(path: Path) -> dict[str, object]:
    """The settings in the TOML file at ``path``, converted to the fields' types."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the settings file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(document) - _FIELDS)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}")
    return {name: _value(path, name, value) for name, value in document.items()}


def _value(path: Path, name: str, value: Any) -> object:
    """A TOML value for ``name``: text goes through the same conversion as an environment variable, native
    TOML values (numbers, booleans, a list of versions) are checked against the field's default type."""
    source = f"{path}: {name}"
    if isinstance(value, list) and name == "versions":
        value = ",".join(str(item) for item in value)
    if isinstance(value, str):
        return convert_setting(source, name, value)
    if isinstance(value, bool | int | float):
        return convert_setting(source, name, _as_text(value))
    raise SettingsError(f"{source} = {value!r} is not valid")


def _as_text(value: bool | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None, **overrides: object
) -> Settings:
    """Settings from defaults < ``config_file`` < ``environ`` (default: the process environment) < ``overrides``.

    ``overrides`` are field values from the command line; None means "not given" and is skipped.
    """
    values: dict[str, object] = {}
    if config_file is not None:
        values.update(file_values(config_file))
    values.update(env_values(environ))
    values.update({name: value for name, value in overrides.items() if value is not None})
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}")
    return Settings(**values)
