"""``wattcap rules check | explain`` through Typer's runner: a file is OK with its counts or refused with every issue
as FILE:LINE:COL, shadowed rules are warned about, and explain shows each rule's verdict and reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from wattcap.cli import _register, app

FLEET = """\
timezone: Europe/Berlin
vehicles:
  - {id: van-07, type: delivery-van, id_tokens: [04A1B2C3]}
rules:
  - name: vans-by-six
    match: {vehicle_type: delivery-van}
    goal: {soc_percent: 80, by: "06:00", strategy: cheapest}
    priority: high
  - name: visitors-office-hours
    match: {id_token_group: visitors, time_of_day: {from: "08:00", to: "18:00"}, days: [mon-fri]}
    max_power_kw: 11
"""


@pytest.fixture(autouse=True)
def _commands() -> None:
    _register()


def wattcap(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def said(result: Result) -> str:
    return " ".join(result.output.replace("│", " ").split())


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "fleet.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_says_ok_with_the_rule_and_vehicle_counts(tmp_path: Path):
    path = write(tmp_path, FLEET)
    result = wattcap("rules", "check", path)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"OK: {path}: 2 rules, 1 vehicle, times in Europe/Berlin"


def test_check_prints_every_issue_as_file_line_column_and_fails(tmp_path: Path):
    path = write(tmp_path, FLEET.replace("days: [mon-fri]", "days: [mon-fry]").replace("priority: high",
                                                                                         "priority: hihg"))
    result = wattcap("rules", "check", path)
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines == [
        f"{path}:8:15: unknown priority class 'hihg'; did you mean 'high'?",
        f"{path}:10:89: days: unknown day 'fry'; did you mean 'fri'? (days are mon, tue, wed, thu, fri, sat, sun, "
        "or a range like mon-fri)",
    ]


def test_check_warns_about_rules_a_catch_all_shadows_but_passes(tmp_path: Path):
    path = write(tmp_path, "rules:\n  - name: everyone\n  - {name: premium, match: {id_token_group: premium}}\n")
    result = wattcap("rules", "check", path)
    assert result.exit_code == 0
    assert (f"{path}:3:1: warning: rule 'premium' is never reached: rule 'everyone' (line 2) comes first and "
            "matches every session") in result.output


def test_check_of_a_missing_file_fails_naming_it(tmp_path: Path):
    result = wattcap("rules", "check", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1 and "nope.yaml: cannot read" in result.output


def test_explain_shows_the_applied_rule_and_why_each_rule_did_or_did_not_match(tmp_path: Path):
    path = write(tmp_path, FLEET)
    result = wattcap("rules", "explain", path, "--station", "depot-1", "--evse", "2", "--group", "visitors",
                     "--at", "2026-03-31T14:05")
    assert result.exit_code == 0, result.output
    text = said(result)
    assert "session at 2026-03-31 14:05 Tue Europe/Berlin (2026-03-31T12:05Z)" in text
    assert "vans-by-six 5 0 no match ✗ no vehicle type known (the rule needs one of ['delivery-van'])" in text
    assert ("visitors-office-hours 9 0 applies ✓ id-token group 'visitors' is one of ['visitors'] "
            "✓ 14:05 Tue is inside 08:00–18:00 Mon–Fri (Europe/Berlin)") in text
    assert "policy: rule visitors-office-hours; weight 1, priority 0, at most 11 kW" in text


def test_explain_finds_the_vehicle_by_its_token_and_resolves_the_goal(tmp_path: Path):
    path = write(tmp_path, FLEET)
    result = wattcap("rules", "explain", path, "--station", "depot-1", "--evse", "1", "--token", "04a1b2c3",
                     "--at", "2026-03-28T22:00:00+01:00")
    assert result.exit_code == 0, result.output
    text = said(result)
    assert "vehicle: 'van-07' from the registry, by id-token '04a1b2c3'" in text
    assert "goal: 80 % SoC by 2026-03-29T04:00Z, cheapest" in text


def test_explain_of_a_refused_file_lists_its_issues(tmp_path: Path):
    path = write(tmp_path, "rules:\n  - {name: r, weight: 0}\n")
    result = wattcap("rules", "explain", path, "--station", "s", "--evse", "1")
    assert result.exit_code == 1
    assert f"{path}:2:23: weight must be greater than 0, not 0" in result.output


def test_explain_refuses_a_time_that_is_not_iso(tmp_path: Path):
    result = wattcap("rules", "explain", write(tmp_path, FLEET), "--station", "s", "--evse", "1", "--at", "noon")
    assert result.exit_code == 2 and "'noon' is not an ISO 8601 date-time" in said(result)
