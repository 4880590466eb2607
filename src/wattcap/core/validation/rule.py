"""A validation rule as data: its id, the versions and messages it applies to, and what a charger answers.

A rule's check only finds *where* it is broken (:class:`Hit`); severity, reasonCode and the predicted answer
come from the rule row, so the table in ``docs/validation.md`` and the findings can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from wattcap.core.model import OcppVersion
from wattcap.core.validation.findings import ChargerResponse, Finding, ReasonCode, Severity
from wattcap.core.validation.request import ProfileRequest, RequestContext


@dataclass(frozen=True, slots=True)
class Hit:
    """One place where a rule is broken."""

    path: str
    message: str


Check = Callable[[ProfileRequest], Iterable[Hit]]

V16 = frozenset({OcppVersion.V16})
V201 = frozenset({OcppVersion.V201})
V21 = frozenset({OcppVersion.V21})
V2X = frozenset({OcppVersion.V201, OcppVersion.V21})
ALL_VERSIONS = frozenset(OcppVersion)

SET = frozenset({RequestContext.SET_CHARGING_PROFILE})
REMOTE_START = frozenset({RequestContext.REMOTE_START})
SENT = frozenset({RequestContext.SET_CHARGING_PROFILE, RequestContext.REMOTE_START})
TARGETED = frozenset({RequestContext.SET_CHARGING_PROFILE, RequestContext.CHARGER_REPORTED})  # evse is meaningful
ALL_CONTEXTS = frozenset(RequestContext)


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the rule table.

    ``check`` is None for rules whose hits come from the JSON-schema pass of the wire adapter (shape, types,
    enum values, time zones). ``final`` stops validation after the rule fires: when a station cannot do smart
    charging at all, everything else about the profile is noise.
    """

    id: str
    versions: frozenset[OcppVersion]
    contexts: frozenset[RequestContext]
    severity: Severity
    summary: str
    check: Check | None = None
    reason_code: ReasonCode | None = None
    response: ChargerResponse | None = None
    final: bool = False

    def applies(self, version: OcppVersion, context: RequestContext) -> bool:
        return version in self.versions and context in self.contexts

    def finding(self, hit: Hit, *, with_reason_code: bool = True) -> Finding:
        return Finding(
            rule_id=self.id,
            severity=self.severity,
            message=hit.message,
            path=hit.path,
            reason_code=self.reason_code if with_reason_code else None,
            response=self.response,
        )


def error(
    rule_id: str,
    versions: frozenset[OcppVersion],
    contexts: frozenset[RequestContext],
    summary: str,
    check: Check | None = None,
    **kw: Any,
) -> Rule:
    """Shorthand for an error row (keeps the rule tables readable)."""
    return Rule(rule_id, versions, contexts, Severity.ERROR, summary, check, **kw)


def warning(
    rule_id: str,
    versions: frozenset[OcppVersion],
    contexts: frozenset[RequestContext],
    summary: str,
    check: Check | None = None,
    **kw: Any,
) -> Rule:
    """Shorthand for a warning row."""
    return Rule(rule_id, versions, contexts, Severity.WARNING, summary, check, **kw)
