"""Semantic validation of charging profiles: what a profile means for a station, judged on the model alone.

:func:`validate_profile_semantics` runs the semantic rules (station capabilities, purpose, schedule, 2.1
operation modes, what the station holds) on a version-neutral :class:`~wattcap.core.model.ChargingProfile` and
returns a list of :class:`Finding`. It knows no JSON: the wire pass (JSON-schema shape, fields a version cannot
carry, number formatting, timestamps without a zone) belongs to the OCPP wire adapter, whose
``validate_profile`` / ``validate_profile_json`` run both passes and are the entry points to use before sending
(``docs/validation.md``).
:func:`has_errors` tells whether the profile may be sent. Every semantic rule is a row of :func:`rule_table`
with its requirement id, versions, severity and the charger's answer; ``docs/validation.md`` lists all rules.
"""

from wattcap.core.validation.findings import (
    ChargerResponse,
    Finding,
    ReasonCode,
    Severity,
    has_errors,
    worst_severity,
)
from wattcap.core.validation.request import RequestContext
from wattcap.core.validation.rule import Rule
from wattcap.core.validation.semantic import validate_profile_semantics
from wattcap.core.validation.table import rule_table

__all__ = [
    "ChargerResponse",
    "Finding",
    "ReasonCode",
    "RequestContext",
    "Rule",
    "Severity",
    "has_errors",
    "rule_table",
    "validate_profile_semantics",
    "worst_severity",
]
