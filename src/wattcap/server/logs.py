"""Structured log lines: ``event key=value …`` with the station id (and message id) on every line.

Plain text keeps the lines greppable in any log collector; the same fields ride along as ``extra`` so a
JSON formatter can pick them up. Secrets never reach here: frames pass :func:`wattcap.ocpp.rpc.redact_frame`
first and credentials are never logged.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ocpp.exceptions import OCPPError

LOGGER = logging.getLogger("wattcap.server")
FRAME_LOGGER = logging.getLogger("wattcap.ocpp.frames")
#: The logger handed to the ``ocpp`` package (see :func:`_package_filter`).
PACKAGE_LOGGER = logging.getLogger("wattcap.ocpp.package")


def _package_filter(record: logging.LogRecord) -> bool:
    """Keep only what the package logs that wattcap does not: unexpected failures.

    The package logs every frame verbatim at INFO (a password-rotation frame would leak the password; our
    frame log masks it) and a full traceback with the whole JSON schema for each invalid message a charger
    sends (a log flood anyone can trigger; wattcap logs one ``ocpp.callerror.sent`` line instead).
    """
    if record.levelno < logging.WARNING:
        return False
    return not (record.exc_info and isinstance(record.exc_info[1], OCPPError))


PACKAGE_LOGGER.addFilter(_package_filter)
# The filter drops everything below WARNING anyway; the level makes the package's two INFO calls per message
# (every frame received and sent) return at once instead of building a record for the filter to drop.
PACKAGE_LOGGER.setLevel(logging.WARNING)


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if not text or any(c in text for c in ' ="'):
        return json.dumps(text)
    return text


def line(event: str, **fields: Any) -> str:
    """``event k1=v1 k2=v2`` with None fields left out and awkward values quoted."""
    parts = [event, *(f"{key}={_value(value)}" for key, value in fields.items() if value is not None)]
    return " ".join(parts)


class StationLog:
    """A logger bound to one station: every line carries ``station_id``."""

    def __init__(self, station_id: str, logger: logging.Logger = LOGGER) -> None:
        self.station_id = station_id
        self.logger = logger

    def log(self, level: int, event: str, exc_info: bool = False, **fields: Any) -> None:
        if not self.logger.isEnabledFor(level):
            return
        fields = {"station_id": self.station_id, **fields}
        self.logger.log(level, "%s", line(event, **fields), exc_info=exc_info, extra={"wattcap": fields})

    def debug(self, event: str, **fields: Any) -> None:
        self.log(logging.DEBUG, event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self.log(logging.INFO, event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.log(logging.WARNING, event, **fields)

    def exception(self, event: str, **fields: Any) -> None:
        self.log(logging.ERROR, event, exc_info=True, **fields)
