"""The WebSocket opening handshake, as pure decisions: which subprotocol, whose credentials, which id.

Kept free of Starlette so each rule is tested without a socket; :mod:`wattcap.server.gateway` applies them.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from wattcap.core.model import OcppVersion
from wattcap.server.settings import SUBPROTOCOLS

_BY_NAME = {name: version for version, name in SUBPROTOCOLS.items()}


@dataclass(frozen=True, slots=True)
class SubprotocolChoice:
    version: OcppVersion
    #: The value to echo in ``Sec-WebSocket-Protocol``; None when the charger offered none.
    subprotocol: str | None


def select_subprotocol(
    offered: Sequence[str], preference: Sequence[OcppVersion], accept_none: bool
) -> SubprotocolChoice | None:
    """The OCPP version to speak, or None to refuse the connection.

    The server's ``preference`` order wins over the charger's order. A charger that offers nothing is taken
    as 1.6 when ``accept_none`` (and 1.6 is served), since some real 1.6 chargers send no subprotocol.
    """
    names = [name.strip() for name in offered if name.strip()]
    if not names:
        if accept_none and OcppVersion.V16 in preference:
            return SubprotocolChoice(OcppVersion.V16, None)
        return None
    offered_versions = {_BY_NAME[name] for name in names if name in _BY_NAME}
    for version in preference:
        if version in offered_versions:
            return SubprotocolChoice(version, SUBPROTOCOLS[version])
    return None


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never show the password, not even in a traceback
        return f"BasicCredentials(username={self.username!r}, password=***)"


def parse_basic_auth(header: str | None) -> BasicCredentials | None:
    """The credentials of an ``Authorization: Basic …`` header, or None if absent or malformed.

    The password may contain ``:`` (only the first one separates the username). 1.6 passwords are
    hexadecimal text and 2.0.1 ones UTF-8, so the decoded octets are read as UTF-8 (Latin-1 fallback).
    """
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    username, separator, password = text.partition(":")
    if not separator:
        return None
    return BasicCredentials(username, password)


# OCPP-J: the identity is the last path segment; it may not contain ':' (it is the Basic username), and
# 2.0.1 limits it to 48 characters (identifierString). Control characters and whitespace are refused too.
_STATION_ID = re.compile(r"[^\s:/\x00-\x1f\x7f]{1,48}")


def valid_station_id(station_id: str) -> bool:
    return _STATION_ID.fullmatch(station_id) is not None
