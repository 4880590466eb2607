"""Scenarios: a station, what it holds and a composite request, as one JSON object (docs/scenario-format.md)."""

from wattcap.scenario.check import CheckResult, check_scenario
from wattcap.scenario.load import Scenario, ScenarioError, load_scenarios, parse_scenario

__all__ = ["CheckResult", "Scenario", "ScenarioError", "check_scenario", "load_scenarios", "parse_scenario"]
