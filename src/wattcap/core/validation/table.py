"""The semantic rule table: the rules about what a profile means, in the order a charger checks them.

A charger first asks whether it can take a profile at all (the station rules, :data:`BEFORE_SHAPE`), then
whether it is well formed on the wire, then its purpose, schedule and what the station already holds
(:data:`AFTER_SHAPE`). The well-formedness rules depend on the wire form and live in the OCPP wire adapter,
whose table puts them between the two halves; ``docs/validation.md`` embeds that combined table.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from wattcap.core.model import OcppVersion
from wattcap.core.validation import rules_install, rules_profile, rules_schedule, rules_station, rules_v21
from wattcap.core.validation.request import RequestContext
from wattcap.core.validation.rule import ALL_CONTEXTS, ALL_VERSIONS, Rule

BEFORE_SHAPE: tuple[Rule, ...] = rules_station.RULES
AFTER_SHAPE: tuple[Rule, ...] = (
    *rules_profile.RULES,
    *rules_schedule.RULES,
    *rules_v21.RULES,
    *rules_install.RULES,
)
RULES: tuple[Rule, ...] = (*BEFORE_SHAPE, *AFTER_SHAPE)


def rule_table() -> tuple[Rule, ...]:
    """Every semantic rule, in checking order. A requirement with two halves (R16-15) has a row per half."""
    return RULES


def select_rules(rules: Iterable[Rule], version: OcppVersion, context: RequestContext) -> tuple[Rule, ...]:
    """The rows of ``rules`` that apply to one version and message, in their order."""
    return tuple(rule for rule in rules if rule.applies(version, context))


@cache
def rules_for(version: OcppVersion, context: RequestContext) -> tuple[Rule, ...]:
    """The semantic rules that apply to one version and message, selected once and kept."""
    return select_rules(RULES, version, context)


def _versions(rule: Rule) -> str:
    if rule.versions == ALL_VERSIONS:
        return "all"
    return ", ".join(v.value for v in OcppVersion if v in rule.versions)


def _contexts(rule: Rule) -> str:
    if rule.contexts == ALL_CONTEXTS:
        return "all"
    return ", ".join(c.value for c in RequestContext if c in rule.contexts)


def markdown_table(rules: Iterable[Rule]) -> str:
    """``rules`` as a Markdown table, one row per rule (the format ``docs/validation.md`` shows)."""
    lines = [
        "| Rule | Versions | Messages | Severity | reasonCode (2.x) | Charger answers | Meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for rule in rules:
        cells = (
            f"`{rule.id}`",
            _versions(rule),
            _contexts(rule),
            rule.severity.value,
            rule.reason_code.value if rule.reason_code else "–",
            rule.response.value if rule.response else "–",
            rule.summary.replace("|", "\\|"),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
