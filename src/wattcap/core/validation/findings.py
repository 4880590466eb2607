"""What the validator reports: one :class:`Finding` per problem, never an exception.

A finding names the rule it breaks (an OCPP requirement id such as ``K01.FR.31``, the research numbering
``R16-09`` for OCPP 1.6, an errata item such as ``E16-3.38``, or a wattcap id ``WC-…`` where the spec has no id),
says where in the wire JSON the problem sits, and predicts what a charger that follows the rule would answer, so
an operator can match a rejection seen in the field to the finding that foretold it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """``error``: do not send (a charger rejects it, or wattcap's own rules forbid it). ``warning``: advice.

    Severities order by weight (``WARNING < ERROR``), not alphabetically, so ``max()`` gives the worst one.
    """

    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return 1 if self is Severity.ERROR else 0

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank


class ReasonCode(StrEnum):
    """OCPP 2.0.1/2.1 ``statusInfo.reasonCode`` values a charger uses when it rejects a charging profile."""

    DUPLICATE_PROFILE = "DuplicateProfile"
    INVALID_OPERATION_MODE = "InvalidOperationMode"  # 2.1
    INVALID_PROFILE = "InvalidProfile"
    INVALID_SCHEDULE = "InvalidSchedule"
    INVALID_STACK_LEVEL = "InvalidStackLevel"
    INVALID_VALUE = "InvalidValue"
    MISSING_PARAM = "MissingParam"
    TOO_MANY_ELEMENTS = "TooManyElements"
    TX_NOT_FOUND = "TxNotFound"
    UNKNOWN_EVSE = "UnknownEvse"
    UNSUPPORTED_RATE_UNIT = "UnsupportedRateUnit"


class ChargerResponse(StrEnum):
    """How a charger answers a request that breaks a rule: a ``Rejected`` status or an RPC CALLERROR.

    The CALLERROR names are those of OCPP-J 2.0.1 (1.6 spells one ``OccurenceConstraintViolation``); the
    adapter that sends the message maps them, the validator only predicts the kind of answer.
    """

    REJECTED = "Rejected"
    NOT_SUPPORTED = "CALLERROR NotSupported"
    PROPERTY_CONSTRAINT_VIOLATION = "CALLERROR PropertyConstraintViolation"
    OCCURRENCE_CONSTRAINT_VIOLATION = "CALLERROR OccurrenceConstraintViolation"
    TYPE_CONSTRAINT_VIOLATION = "CALLERROR TypeConstraintViolation"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with a charging profile or the request that carries it.

    ``path`` is the JSON path in the wire form of the validated version, relative to the ChargingProfile
    (``chargingSchedule[0].chargingSchedulePeriod[2].startPeriod`` in 2.0.1,
    ``chargingSchedule.chargingSchedulePeriod[2].startPeriod`` in 1.6), or a request-level field (``evseId``,
    ``connectorId``); ``""`` is the profile as a whole. ``reason_code`` is what a 2.0.1/2.1 charger puts in
    ``statusInfo`` (always None for 1.6, which has no statusInfo). ``response`` is what a charger of the
    validated version answers: a ``Rejected`` status or a CALLERROR; None where a charger would accept the
    profile (most warnings) or where chargers are known to differ.
    """

    rule_id: str
    severity: Severity
    message: str
    path: str
    reason_code: ReasonCode | None = None
    response: ChargerResponse | None = None

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.severity} {self.rule_id}{where}: {self.message}"


def has_errors(findings: Iterable[Finding]) -> bool:
    """Whether any finding forbids sending the profile."""
    return any(f.severity is Severity.ERROR for f in findings)


def worst_severity(findings: Iterable[Finding]) -> Severity | None:
    """The heaviest severity among ``findings``; None when there are none."""
    return max((f.severity for f in findings), default=None)
