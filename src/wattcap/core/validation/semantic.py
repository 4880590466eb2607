"""The semantic pass: a rule table run on the version-neutral model, with no JSON anywhere.

:func:`validate_profile_semantics` runs the semantic rules (station, purpose, schedule, 2.1, holdings) on a
model. It does not ask whether the profile can be written in the version's wire form, nor judge JSON shape or
timestamp text: that is the wire pass of the OCPP wire adapter, whose ``validate_profile`` and
``validate_profile_json`` run both passes and are what a caller about to send a profile wants
(``docs/validation.md``). All three entry points take one path, :func:`validate_with`, and differ only in how
they read what they are given and which rule table they run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from wattcap.core.model import ChargingProfile, InstalledProfile, OcppVersion, Transaction
from wattcap.core.station import StationConfig
from wattcap.core.validation.findings import Finding, Severity
from wattcap.core.validation.request import VERSION_FACTS, ProfileRequest, RequestContext, VersionFacts
from wattcap.core.validation.rule import Rule
from wattcap.core.validation.table import rules_for


def version_facts(version: OcppVersion | str) -> VersionFacts:
    """The facts of ``version``; ValueError for a version wattcap does not know."""
    return VERSION_FACTS[OcppVersion(version)]


def run_rules(req: ProfileRequest, rules: Iterable[Rule], earlier: Iterable[Finding] = ()) -> list[Finding]:
    """``earlier`` followed by the findings of the checks of ``rules`` (already selected for the request), in order.

    Where ``earlier`` (a schema pass) holds an error at a path, an error rule does not repeat it there: one
    wrong value gets one explanation. A ``final`` rule that fires replaces every finding, earlier ones included:
    the charger will not look at the profile at all.
    """
    findings = list(earlier)
    explained = {f.path for f in findings if f.severity is Severity.ERROR}
    for rule in rules:
        if rule.check is None:
            continue
        hits = list(rule.check(req))
        if hits and rule.final:
            return [rule.finding(hit, with_reason_code=req.facts.has_status_info) for hit in hits]
        findings.extend(
            rule.finding(hit, with_reason_code=req.facts.has_status_info)
            for hit in hits
            if not (rule.severity is Severity.ERROR and hit.path in explained)
        )
    return findings


#: What reading an entry point's subject gives: the profile to check (None: nothing more can be checked) and
#: what reading it found.
Read = tuple[ChargingProfile | None, list[Finding]]
#: Reads what an entry point was given, as ``read(subject, evse_id, facts, context)``.
Reader = Callable[[Any, Any, VersionFacts, RequestContext], Read]
#: The rules to run for a version and message, in checking order (the semantic table, or the wire adapter's).
RuleSelection = Callable[[OcppVersion, RequestContext], Iterable[Rule]]


def validate_with(
    read: Reader,
    rules: RuleSelection,
    subject: Any,
    version: OcppVersion | str,
    evse_id: Any,
    station: StationConfig,
    installed: Iterable[InstalledProfile],
    transactions: Iterable[Transaction],
    context: RequestContext | str,
    now: datetime | None,
    iso15118: bool,
) -> list[Finding]:
    """The one path of every validation entry point, this package's and the OCPP wire adapter's.

    Entry points differ only in how they read what they were given (``read``: a model checked for its type, or
    wire JSON with a schema pass) and in which rules they run (``rules``); the arguments after those two are the
    entry points' own, in their order. The version and context are resolved, the :class:`ProfileRequest` built
    and the rules run here alone. An unknown ``version`` or ``context`` raises ValueError before ``read``.
    """
    facts = version_facts(version)
    context = RequestContext(context)
    profile, findings = read(subject, evse_id, facts, context)
    if profile is None:
        return findings
    req = ProfileRequest(
        profile=profile,
        facts=facts,
        evse_id=evse_id,
        station=station,
        installed=tuple(installed),
        transactions=tuple(transactions),
        context=context,
        now=now,
        iso15118=iso15118,
    )
    return run_rules(req, rules(facts.version, context), findings)


def _typed(profile: Any, evse_id: Any, facts: VersionFacts, context: RequestContext) -> tuple[ChargingProfile, list]:
    """The model as given: it is not untrusted input, so the wrong type is the caller's bug, not a finding."""
    if not isinstance(profile, ChargingProfile):
        raise TypeError(f"expected a ChargingProfile, got {type(profile).__name__}")
    if isinstance(evse_id, bool) or not isinstance(evse_id, int):
        raise TypeError(f"expected an integer evse_id, got {evse_id!r}")
    return profile, []


def validate_profile_semantics(
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
    """What the semantic rules find wrong with sending (or holding) ``profile`` on ``evse_id`` of ``station``.

    The arguments mean what they mean for the wire adapter's ``validate_profile``, which runs this pass
    together with the wire pass (JSON shape, fields the version cannot carry, number formatting, time zones);
    use that one before sending. This pass alone suits callers that hold a model and want to know what it
    means for a station, without any wire form.

    The profile is a model, not untrusted input: a ``profile`` that is not a :class:`ChargingProfile` or an
    ``evse_id`` that is not an int raises TypeError (the wire entry points report both as findings). An unknown
    ``version`` or ``context`` raises ValueError. Otherwise it returns findings and never raises.
    """
    return validate_with(
        _typed, rules_for, profile, version, evse_id, station, installed, transactions, context, now, iso15118
    )
