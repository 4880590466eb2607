"""The persisted form of :class:`~wattcap.core.holdings.ChargerHoldings` (R16-13, K01.FR.27).

Installed profiles survive a reboot, so the shell stores what a station holds as JSON and reads it back on
start: a list of ``{evseId, source, version, chargingProfile}`` entries, each profile in the wire form of the
policy's OCPP version (:mod:`wattcap.ocpp.profile_json`), so a stored file reads like the messages that built it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from wattcap.core.holdings import ChargerHoldings, HeldProfile
from wattcap.core.holdings_policy import InstallPolicy
from wattcap.core.model import ChargingLimitSource, OcppVersion
from wattcap.ocpp.profile_json import ProfileFormatError, profile_from_json, profile_to_json


def holdings_to_json(holdings: ChargerHoldings) -> list[dict[str, Any]]:
    """Each entry as ``{evseId, source, version, chargingProfile}`` with the profile in its wire form."""
    version = holdings.policy.version
    return [
        {
            "evseId": e.evse_id,
            "source": str(e.source),
            "version": version.value,
            "chargingProfile": profile_to_json(e.profile, version),
        }
        for e in holdings.entries
    ]


def holdings_from_json(data: Any, policy: InstallPolicy | OcppVersion | str) -> ChargerHoldings:
    """Read :func:`holdings_to_json` output. Raises :class:`ProfileFormatError` with a path like ``[2].evseId``."""
    if not isinstance(data, list):
        raise ProfileFormatError("", "expected a list of held profiles")
    entries = tuple(_entry_from_json(item, f"[{i}]") for i, item in enumerate(data))
    seen: set[int] = set()
    for i, e in enumerate(entries):
        if e.profile.id in seen:
            raise ProfileFormatError(f"[{i}].chargingProfile", f"profile id {e.profile.id} is held twice")
        seen.add(e.profile.id)
    return replace(ChargerHoldings.empty(policy), entries=entries)


def _entry_from_json(item: Any, path: str) -> HeldProfile:
    if not isinstance(item, Mapping):
        raise ProfileFormatError(path, "expected an object")
    for key in ("evseId", "version", "chargingProfile"):
        if key not in item:
            raise ProfileFormatError(f"{path}.{key}", "required field is missing")
    evse_id, source = item["evseId"], item.get("source", ChargingLimitSource.CSO)
    if isinstance(evse_id, bool) or not isinstance(evse_id, int) or evse_id < 0:
        raise ProfileFormatError(f"{path}.evseId", f"expected an EVSE id, got {evse_id!r}")
    if not isinstance(source, str):
        raise ProfileFormatError(f"{path}.source", f"expected a string, got {source!r}")
    try:
        version = OcppVersion(item["version"])
    except ValueError:
        raise ProfileFormatError(f"{path}.version", f"unknown OCPP version {item['version']!r}") from None
    try:
        profile = profile_from_json(item["chargingProfile"], version)
    except ProfileFormatError as exc:
        raise ProfileFormatError(f"{path}.chargingProfile.{exc.path}".rstrip("."), exc.message) from None
    return HeldProfile(evse_id, profile, source)
