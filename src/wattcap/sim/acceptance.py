"""Whether a simulated charger accepts a charging profile: its personality first, then the specification.

A real charger answers SetChargingProfile (and the profile inside RemoteStart / RequestStartTransaction) with
Accepted or Rejected, in 2.0.1 with a ``statusInfo.reasonCode``, and for a few faults with a CALLERROR. The
simulator decides in two layers:

1. the personality's own refusals: things a station refuses whatever it reports (ChargePointMaxProfile,
   Relative kinds, a 0 limit, a stack level it reported but does not take);
2. the specification, as the project's validator states it: :func:`wattcap.ocpp.validation.validate_profile`
   (its wire pass on the profile's wire form and its semantic pass) against what the station *reports* (so a
   W-only station, or one reporting stack level 0, refuses through its capabilities). Every error finding with
   a predicted charger answer is a refusal; the first one decides, and its reasonCode and predicted answer
   (Rejected or a CALLERROR) are what the station sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from wattcap.core.holdings import ChargerHoldings
from wattcap.core.model import ChargingProfile, Transaction
from wattcap.core.station import StationConfig
from wattcap.ocpp.validation import ChargerResponse, RequestContext, Severity, validate_profile
from wattcap.sim.personalities import Personality

__all__ = ["ACCEPTED", "ProfileStatus", "RequestContext", "Verdict", "judge_profile"]


class ProfileStatus(StrEnum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to a profile.

    ``reason_code`` is the 2.0.1 ``statusInfo.reasonCode``; ``call_error`` names an OCPP-J error code
    (``NotSupported``, ``PropertyConstraintViolation`` …) when the station answers with a CALLERROR instead of a
    status; ``detail`` says which rule refused, for logs and ``statusInfo.additionalInfo``.
    """

    status: ProfileStatus
    reason_code: str | None = None
    detail: str | None = None
    call_error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is ProfileStatus.ACCEPTED


ACCEPTED = Verdict(ProfileStatus.ACCEPTED)

_CALL_ERRORS = {
    ChargerResponse.NOT_SUPPORTED: "NotSupported",
    ChargerResponse.PROPERTY_CONSTRAINT_VIOLATION: "PropertyConstraintViolation",
    ChargerResponse.OCCURRENCE_CONSTRAINT_VIOLATION: "OccurrenceConstraintViolation",
    ChargerResponse.TYPE_CONSTRAINT_VIOLATION: "TypeConstraintViolation",
}


def _rejected(reason_code: str, detail: str) -> Verdict:
    return Verdict(ProfileStatus.REJECTED, reason_code, detail)


def judge_profile(
    *,
    station: StationConfig,
    personality: Personality,
    holdings: ChargerHoldings,
    transactions: Iterable[Transaction],
    evse_id: int,
    profile: ChargingProfile,
    context: RequestContext,
    now: datetime,
    iso15118: bool = False,
) -> Verdict:
    """Accept or reject ``profile`` for ``evse_id`` as this station would."""
    refusal = _personality_refusal(personality, profile)
    if refusal is not None:
        return refusal
    findings = validate_profile(
        profile,
        station.ocpp_version,
        evse_id=evse_id,
        station=station,
        installed=holdings.installed,
        transactions=transactions,
        context=context,
        now=now,
        iso15118=iso15118,
    )
    for finding in findings:
        if finding.severity is Severity.ERROR and finding.response is not None:
            return Verdict(
                ProfileStatus.REJECTED,
                finding.reason_code.value if finding.reason_code else None,
                f"{finding.rule_id}: {finding.message}",
                _CALL_ERRORS.get(finding.response),
            )
    if holdings.blocked_by(evse_id, profile):
        return _rejected("InvalidProfile", "it would replace an external constraint (K01.FR.05)")
    return ACCEPTED


def _personality_refusal(personality: Personality, profile: ChargingProfile) -> Verdict | None:
    if profile.purpose in personality.rejected_purposes:
        return _rejected("InvalidProfile", f"{profile.purpose.value} is not supported by this charger")
    if profile.kind in personality.rejected_kinds:
        return _rejected("InvalidProfile", f"{profile.kind.value} profiles are not supported by this charger")
    top = personality.accepted_max_stack_level
    if top is not None and profile.stack_level > top:
        return _rejected("InvalidStackLevel", f"stackLevel {profile.stack_level} is not supported")
    if personality.rejects_zero_limit and any(
        p.limit is not None and p.limit <= 0 for s in profile.schedules for p in s.periods
    ):
        return _rejected("InvalidValue", "a limit of 0 is implausible")
    return None
