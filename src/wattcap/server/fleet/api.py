"""The fleet routes of the HTTP API: the rules in force, replacing them, the dry run, and every session's plan.

``PUT /fleet/rules`` takes the same document as the rules file, as YAML (``Content-Type: application/yaml``; its
issues carry line and column) or as JSON (issues carry a JSON path). A document with any issue is refused whole
(422, every issue listed), so a half-valid rule set never steers a session. Replacing the rules needs a grant
over every station with TxProfiles (GOV-RULES).

``POST /fleet/rules/dry-run`` says which rule applies to a session described by its facts and why, rule by rule
and condition by condition, against the rules in force or a draft sent with it; nothing changes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from wattcap.api.deps import Authenticated
from wattcap.api.errors import ERRORS, NOT_FOUND, FindingOut, forbidden, invalid, not_found
from wattcap.core import governance as gov
from wattcap.core.fleet.document import RuleFileError
from wattcap.core.fleet.loader import load_rules, rules_from_data
from wattcap.core.fleet.model import SessionFacts, Vehicle
from wattcap.core.fleet.rules import Evaluation, RuleSet

if TYPE_CHECKING:
    from wattcap.server.fleet.service import FleetService

__all__ = ["fleet_router"]

RULE_RULE_ID = "WC-RULES"


class RuleOut(BaseModel):
    name: str
    line: int | None
    precedence: int
    actions: list[str]


class RulesOut(BaseModel):
    timezone: str
    mode: str
    source: str
    rules: list[RuleOut]
    vehicles: int
    text: str | None = Field(None, description="The document as last put in force (YAML), when it came as text.")


class FactsIn(BaseModel):
    """A session as the rules see it (the dry run); ``at`` defaults to now."""

    model_config = ConfigDict(extra="forbid")
    station_id: str
    evse_id: int = Field(1, ge=0)
    at: AwareDatetime | None = None
    site_id: str | None = None
    id_token: str | None = None
    id_token_group: str | None = None
    vehicle_id: str | None = Field(None, description="As the EV identified itself (2.0.1 EV data).")
    vehicle_type: str | None = None
    connector_type: str | None = None
    ev_departure: AwareDatetime | None = None
    ev_energy_wh: float | None = Field(None, ge=0)


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facts: FactsIn
    rules: str | dict[str, Any] | None = Field(
        None, description="A draft rule set (YAML text or the JSON document) to try instead of the rules in force.")


class CheckOut(BaseModel):
    condition: str
    held: bool
    reason: str


class TraceOut(BaseModel):
    rule: str
    line: int | None
    precedence: int
    matched: bool
    applied: bool
    checks: list[CheckOut]


class PolicyOut(BaseModel):
    rule: str | None
    weight: float
    priority: int
    max_power_w: float | None
    max_current_a: float | None
    goal: dict[str, Any] | None
    template: dict[str, Any] | None
    notes: list[str]


class DryRunOut(BaseModel):
    policy: PolicyOut
    vehicle: str | None
    vehicle_source: str
    trace: list[TraceOut]
    explanation: str


def _rules_out(rules: RuleSet, text: str | None) -> RulesOut:
    return RulesOut(
        timezone=rules.timezone, mode=rules.mode, source=rules.source, vehicles=len(rules.vehicles), text=text,
        rules=[RuleOut(name=r.name, line=r.line, precedence=r.precedence, actions=list(r.actions()))
               for r in rules.ordered()],
    )


def _refused(error: RuleFileError, prefix: str) -> Exception:
    findings = [
        FindingOut(path=f"{prefix}{'.' if issue.path and prefix else ''}{issue.path}" or prefix or "body",
                   rule_id=RULE_RULE_ID,
                   message=(f"line {issue.line}, column {issue.column or 1}: " if issue.line else "") + issue.reason)
        for issue in error.issues
    ]
    return invalid(findings, f"the rules were refused: {len(findings)} issue(s); first: {findings[0].message}")


def _parse(body: str | dict[str, Any], source: str) -> RuleSet:
    if isinstance(body, str):
        return load_rules(body, source)
    return rules_from_data(body)


def _evaluation_out(evaluation: Evaluation) -> DryRunOut:
    p = evaluation.policy
    goal = None if p.goal is None else {
        "departure": p.goal.departure.isoformat(), "strategy": p.goal.strategy.value, "energy_wh": p.goal.energy_wh,
        "soc_percent": p.goal.soc_percent,
    }
    template = None if p.template is None else {
        "unit": p.template.unit.value,
        "periods": [{"start_s": t.start_s, "limit": t.limit, "number_phases": t.number_phases}
                    for t in p.template.periods],
    }
    return DryRunOut(
        policy=PolicyOut(rule=p.rule, weight=p.weight, priority=p.priority, max_power_w=p.max_power_w,
                         max_current_a=p.max_current_a, goal=goal, template=template, notes=list(p.notes)),
        vehicle=None if evaluation.vehicle is None else evaluation.vehicle.id,
        vehicle_source=evaluation.vehicle_source,
        trace=[TraceOut(rule=t.rule.name, line=t.rule.line, precedence=t.rule.precedence, matched=t.matched,
                        applied=t.applied, checks=[CheckOut(condition=c.condition, held=c.held, reason=c.reason)
                                                   for c in t.checks])
               for t in evaluation.trace],
        explanation=evaluation.explain(),
    )


def fleet_router(service: FleetService) -> APIRouter:
    router = APIRouter(prefix="/fleet", tags=["fleet"])

    @router.get("/rules", response_model=RulesOut, responses={**ERRORS, **NOT_FOUND},
                summary="The fleet rules in force, in the order they are tried")
    async def get_rules(access: Authenticated) -> RulesOut:
        if service.rules is None:
            raise not_found("no fleet rules are in force (serve --rules FILE, or PUT /fleet/rules)")
        return _rules_out(service.rules, service.rules_text)

    @router.put("/rules", response_model=RulesOut, responses=ERRORS,
                summary="Replace the fleet rules (YAML or JSON); refused whole with every issue",
                openapi_extra={"requestBody": {"required": True, "content": {
                    "application/yaml": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "object"}}}}})
    async def put_rules(request: Request, access: Authenticated) -> RulesOut:
        refusals = gov.check_rules_change(access.grant)
        if refusals:
            raise forbidden(refusals)
        raw = (await request.body()).decode("utf-8", errors="replace")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        text: str | None = None
        try:
            if kind in ("application/json", ""):
                try:
                    data = json.loads(raw)
                except ValueError as exc:
                    raise invalid([FindingOut(path="body", rule_id=RULE_RULE_ID, message=f"not JSON: {exc}")]) from exc
                if not isinstance(data, dict):
                    raise invalid([FindingOut(path="body", rule_id=RULE_RULE_ID,
                                              message="the rules document is an object")])
                rules = rules_from_data(data)
            else:
                text = raw
                rules = load_rules(raw, "body")
        except RuleFileError as error:
            raise _refused(error, "body") from error
        await service.replace_rules(rules, text, actor=access.actor)
        return _rules_out(rules, text)

    @router.post("/rules/dry-run", response_model=DryRunOut, responses={**ERRORS, **NOT_FOUND},
                 summary="Which rule applies to a session and why (nothing changes)")
    async def dry_run(body: DryRunIn, access: Authenticated) -> DryRunOut:
        access.read_station(body.facts.station_id, body.facts.evse_id or None)
        rules = service.rules
        if body.rules is not None:
            try:
                rules = _parse(body.rules, "body.rules")
            except RuleFileError as error:
                raise _refused(error, "body.rules") from error
        if rules is None:
            raise not_found("no fleet rules are in force and none were sent")
        f = body.facts
        vehicle = None if f.vehicle_id is None and f.vehicle_type is None else Vehicle(
            id=f.vehicle_id or "(unnamed)", type=f.vehicle_type)
        facts = SessionFacts(
            at=f.at or access.plane.clock(), station_id=f.station_id, evse_id=f.evse_id,
            site_id=f.site_id or access.plane.sites.site_of(f.station_id), id_token=f.id_token,
            id_token_group=f.id_token_group, vehicle=vehicle, connector_type=f.connector_type,
            ev_energy_wh=f.ev_energy_wh, ev_departure=f.ev_departure,
        )
        return _evaluation_out(service.dry_run(facts, rules))

    @router.get("/sessions", responses=ERRORS,
                summary="Every running session: the rule that applies, its goal and plan (per 15-minute slot)")
    async def sessions(access: Authenticated) -> dict[str, Any]:
        snapshot = service.snapshot()
        snapshot["sessions"] = [s for s in snapshot["sessions"] if access.sees_evse(s["station_id"], s["evse_id"])]
        return snapshot

    return router

