"""The full rule table: the core's semantic rules with the wire rules in the order a charger checks.

Station first (can it take a profile at all), then shape (the wire rules of this package), then purpose,
schedule and holdings. ``docs/validation.md`` embeds :func:`rules_markdown` verbatim, and a test keeps the two
in step.
"""

from __future__ import annotations

from functools import cache

from wattcap.core.model import OcppVersion
from wattcap.core.validation import table as core_table
from wattcap.core.validation.request import RequestContext
from wattcap.core.validation.rule import Rule
from wattcap.ocpp.validation import rules_wire

RULES: tuple[Rule, ...] = (*core_table.BEFORE_SHAPE, *rules_wire.RULES, *core_table.AFTER_SHAPE)

# The rows the JSON-schema pass reports under (their ids are unique in the table).
SCHEMA_RULES = {rule.id: rule for rule in rules_wire.RULES}


def rule_table() -> tuple[Rule, ...]:
    """Every rule, semantic and wire, in checking order. A requirement with two halves (R16-15) has a row per half."""
    return RULES


@cache
def rules_for(version: OcppVersion, context: RequestContext) -> tuple[Rule, ...]:
    """The rules that apply to one version and message, selected once and kept."""
    return core_table.select_rules(RULES, version, context)


def rules_markdown() -> str:
    """The full rule table as a Markdown table (what ``docs/validation.md`` shows)."""
    return core_table.markdown_table(RULES)
