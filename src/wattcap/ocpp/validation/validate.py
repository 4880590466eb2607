"""The two ways in: a profile as wire JSON, or as the version-neutral model. Both return findings, never raise.

Both run the same two passes, on the core's one validation path (``validate_with``); they differ only in how
they read what they are given (:func:`_read_model`, :func:`_read_json`). The schema pass judges JSON shape
against the version's official schema (for a model, the JSON it would be written as). The rule pass runs the
full table of :mod:`.table` selected for the version and message: the wire rules of this package and the core's
semantic rules, in checking order (the semantic part alone is
``wattcap.core.validation.validate_profile_semantics``). Where the schema pass already reported an error at a
path, the rule pass does not repeat it there: one wrong value gets one explanation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from wattcap.core.model import ChargingProfile, InstalledProfile, OcppVersion, Transaction
from wattcap.core.station import StationConfig
from wattcap.core.validation.findings import Finding, has_errors
from wattcap.core.validation.request import RequestContext, VersionFacts
from wattcap.core.validation.rule import Hit
from wattcap.core.validation.semantic import Read, validate_with
from wattcap.ocpp.profile_json import profile_from_json, profile_to_json
from wattcap.ocpp.validation.schema import TYPE_RULE, VALUE_RULE, schema_hits
from wattcap.ocpp.validation.table import SCHEMA_RULES, rules_for

# What reading or writing odd JSON can raise (ProfileFormatError is a ValueError; huge or non-finite numbers
# raise ArithmeticError; a malformed nested object TypeError or LookupError): all of it becomes a finding.
_UNREADABLE = (ValueError, TypeError, ArithmeticError, LookupError)


def _schema_finding(rule_id: str, hit: Hit, facts: VersionFacts) -> Finding:
    return SCHEMA_RULES[rule_id].finding(hit, with_reason_code=facts.has_status_info)


def _schema_pass(data: Any, facts: VersionFacts, context: RequestContext) -> list[Finding]:
    return [
        _schema_finding(rule_id, hit, facts)
        for rule_id, hit in schema_hits(data, facts.version)
        if SCHEMA_RULES[rule_id].applies(facts.version, context)
    ]


def _unreadable(exc: Exception, facts: VersionFacts) -> Finding:
    """Why the profile codec stopped, at the path it names (if it names one)."""
    hit = Hit(getattr(exc, "path", ""), getattr(exc, "message", str(exc)))
    return _schema_finding(VALUE_RULE, hit, facts)


def _evse_id_finding(evse_id: Any, facts: VersionFacts) -> Finding | None:
    if isinstance(evse_id, int) and not isinstance(evse_id, bool):
        return None
    hit = Hit(facts.evse_field, f"expected an integer {facts.evse_field}, got {evse_id!r}")
    return _schema_finding(TYPE_RULE, hit, facts)


def _read_model(profile: Any, evse_id: Any, facts: VersionFacts, context: RequestContext) -> Read:
    """The wire pass for a model: its type and the evse id, then the JSON it would be written as, against the
    schema. A model the codec cannot write is still checked by the rules."""
    if not isinstance(profile, ChargingProfile):
        hit = Hit("", f"expected a ChargingProfile, got {type(profile).__name__}")
        return None, [_schema_finding(TYPE_RULE, hit, facts)]
    bad_evse = _evse_id_finding(evse_id, facts)
    if bad_evse is not None:
        return None, [bad_evse]
    try:
        wire = profile_to_json(profile, facts.version)
    except _UNREADABLE as exc:
        return profile, [_unreadable(exc, facts)]
    return profile, _schema_pass(wire, facts, context)


def _read_json(data: Any, evse_id: Any, facts: VersionFacts, context: RequestContext) -> Read:
    """The wire pass for wire JSON: the schema, the evse id, then the profile read from it, when it can be read."""
    findings = _schema_pass(data, facts, context)
    bad_evse = _evse_id_finding(evse_id, facts)
    if bad_evse is not None:
        return None, [bad_evse, *findings]
    try:
        profile = profile_from_json(data, facts.version)
    except _UNREADABLE as exc:
        if not has_errors(findings):
            # The schema saw nothing wrong, yet the profile cannot be read: report why the reader stopped.
            findings.append(_unreadable(exc, facts))
        return None, findings
    return profile, findings


def validate_profile(
    profile: ChargingProfile,
    version: OcppVersion | str,
    *,
    evse_id: int,
    station: StationConfig,
    installed: Iterable[InstalledProfile] = (),
    transactions: Iterable[Transaction] = (),
    context: RequestContext | str = RequestContext.SET_CHARGING_PROFILE,
    now: datetime | None = None,
    iso15118: bool = False,
) -> list[Finding]:
    """Everything wrong with sending (or holding) ``profile`` on ``evse_id`` of ``station`` in ``version``.

    The wire pass (the JSON the model would be written as, against the version's schema, and the wire rules)
    and the core's semantic pass, in one list in checking order.
    ``evse_id`` is the evseId / connectorId of the request (for a remote start: the one the transaction is
    requested on, 0 if the charger chooses). ``installed`` is what the station holds before the request and
    ``transactions`` what runs now. ``now`` (aware UTC) enables the rules that compare with the clock;
    ``iso15118`` says the session negotiated schedules (NotifyEVChargingNeeds), which allows several schedules.
    An empty list, or only warnings, means the profile can be sent. Raises ValueError only for an unknown
    ``version`` or ``context``, which are the caller's configuration, not input.
    """
    return validate_with(
        _read_model, rules_for, profile, version, evse_id, station, installed, transactions, context, now, iso15118
    )


def validate_profile_json(
    data: Any,
    version: OcppVersion | str,
    *,
    evse_id: Any,
    station: StationConfig,
    installed: Iterable[InstalledProfile] = (),
    transactions: Iterable[Transaction] = (),
    context: RequestContext | str = RequestContext.SET_CHARGING_PROFILE,
    now: datetime | None = None,
    iso15118: bool = False,
) -> list[Finding]:
    """Like :func:`validate_profile`, for a ChargingProfile as wire JSON (``csChargingProfiles`` in 1.6).

    ``data`` may be anything (None, a list, half a profile): shape problems become findings with their JSON
    path. Parse with ``parse_float=decimal.Decimal`` to judge 1.6 ``multipleOf 0.1`` on the exact text; plain
    floats are judged on their shortest representation, which gives the same answer for any value a JSON
    encoder wrote. When the JSON can be read, the profile's rules are checked too.
    """
    return validate_with(
        _read_json, rules_for, data, version, evse_id, station, installed, transactions, context, now, iso15118
    )
