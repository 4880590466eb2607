"""Validation of charging profiles before anything is sent to a charger (and of what chargers report).

This is the full API: the wire pass of this package (the version's JSON schema, fields a version cannot carry,
number formatting, timestamps without a zone) together with the semantic pass of :mod:`wattcap.core.validation`
(station, purpose, schedule, 2.1 and holdings rules, which know no JSON). Use :func:`validate_profile` for a
model, :func:`validate_profile_json` for wire JSON; both return a list of :class:`Finding` and never raise on
bad input. :func:`has_errors` tells whether the profile may be sent. Every rule is a row of :func:`rule_table`
with its requirement id, versions, severity and the charger's answer; ``docs/validation.md`` lists them.
"""

from wattcap.core.validation import (
    ChargerResponse,
    Finding,
    ReasonCode,
    RequestContext,
    Rule,
    Severity,
    has_errors,
    validate_profile_semantics,
    worst_severity,
)
from wattcap.ocpp.validation.table import rule_table, rules_markdown
from wattcap.ocpp.validation.validate import validate_profile, validate_profile_json

__all__ = [
    "ChargerResponse",
    "Finding",
    "ReasonCode",
    "RequestContext",
    "Rule",
    "Severity",
    "has_errors",
    "rule_table",
    "rules_markdown",
    "validate_profile",
    "validate_profile_json",
    "validate_profile_semantics",
    "worst_severity",
]
