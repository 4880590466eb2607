"""Findings, severities, the rule table and its documentation."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from wattcap.core.validation import ChargerResponse, Finding, Severity, has_errors, worst_severity
from wattcap.ocpp.validation import rule_table, rules_markdown  # the full table: semantic and wire rules

from .validation_helpers import V16, V201, VERSIONS, check, profile, rule_ids

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
RULE_ID = re.compile(r"^(K\d\d\.FR\.\d+|R16-\d\d|E16-\d\.\d\d|WC-[SEW]\d\d)$")


def _finding(severity: Severity) -> Finding:
    return Finding(rule_id="WC-E01", severity=severity, message="m", path="stackLevel")


def test_severity_orders_by_weight_not_by_name():
    assert Severity.WARNING < Severity.ERROR
    assert max(Severity.ERROR, Severity.WARNING) is Severity.ERROR
    assert sorted([Severity.ERROR, Severity.WARNING]) == [Severity.WARNING, Severity.ERROR]


def test_has_errors_and_worst_severity():
    warning, error = _finding(Severity.WARNING), _finding(Severity.ERROR)
    assert not has_errors([]) and worst_severity([]) is None
    assert not has_errors([warning]) and worst_severity([warning]) is Severity.WARNING
    assert has_errors([warning, error]) and worst_severity([warning, error]) is Severity.ERROR


def test_finding_text_names_severity_rule_and_path():
    assert str(_finding(Severity.ERROR)) == "error WC-E01 at stackLevel: m"


def test_rule_ids_are_requirement_ids_or_wattcap_ids():
    bad = [rule.id for rule in rule_table() if not RULE_ID.match(rule.id)]
    assert bad == []


def test_a_rule_id_appears_once_per_version_and_message():
    seen: dict[tuple, list[str]] = defaultdict(list)
    for rule in rule_table():
        for version in rule.versions:
            for context in rule.contexts:
                seen[(rule.id, version, context)].append(rule.summary)
    assert [key for key, rows in seen.items() if len(rows) > 1] == []


def test_wattcap_id_family_matches_severity_and_summaries_are_sentences():
    for rule in rule_table():
        assert rule.summary.endswith("."), rule.id
        if rule.id.startswith("WC-W"):
            assert rule.severity is Severity.WARNING, rule.id
        if rule.id.startswith(("WC-E", "WC-S")):
            assert rule.severity is Severity.ERROR, rule.id


def test_rules_predicting_not_supported_stop_validation():
    for rule in rule_table():
        if rule.response is ChargerResponse.NOT_SUPPORTED:
            assert rule.final, rule.id


def test_docs_embed_the_generated_rule_table():
    doc = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    assert rules_markdown() in doc, "docs/validation.md is stale: paste rules_markdown() between the markers"


def test_docs_list_every_rule_id():
    doc = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    assert [rule.id for rule in rule_table() if f"`{rule.id}`" not in doc] == []


def test_every_rule_has_a_test_named_after_its_id():
    names = set()
    # Semantic rules are tested here, wire rules with the OCPP adapters.
    test_files = [
        *Path(__file__).parent.glob("test_validation_*.py"),
        *TESTS.glob("ocpp_adapters/test_validation_*.py"),
    ]
    for path in test_files:
        names.update(re.findall(r"def (test_\w+)", path.read_text(encoding="utf-8")))
    def tested(rule_id: str) -> bool:
        token = re.escape(rule_id.replace(".", "_").replace("-", "_"))
        return any(re.search(rf"{token}(?!\d)", name) for name in names)  # K01_FR_11 is not K01_FR_111

    assert sorted({rule.id for rule in rule_table() if not tested(rule.id)}) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_valid_profile_has_no_findings(version):
    assert check(profile(), version) == []


def test_reason_codes_only_where_the_version_has_status_info():
    bad = profile(stack_level=-1)
    assert {f.reason_code for f in check(bad, V16)} == {None}
    assert any(f.reason_code is not None for f in check(bad, V201))
    assert rule_ids(check(bad, V16)) == rule_ids(check(bad, V201)) == {"WC-E01"}
