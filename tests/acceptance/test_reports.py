"""The three report formats, written from judged evidence: HTML with embedded plots, JSON, JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from wattcap.acceptance.checks import AcceptanceTest, CheckVerdict
from wattcap.acceptance.evidence import AcceptanceReport, CheckResult, Finding, StationSummary
from wattcap.acceptance.judge import judge_check
from wattcap.acceptance.plan import AcceptanceSettings, Intent
from wattcap.acceptance.report_html import report_to_html
from wattcap.acceptance.report_json import report_to_json
from wattcap.acceptance.report_junit import report_to_junit
from wattcap.acceptance.reports import write_reports

from .helpers import T0, at, series
from .test_judge import BASELINE, check_of, limit_step, tx_default

SETTINGS = AcceptanceSettings.simulated(10.0)


def sample_report() -> AcceptanceReport:
    step = limit_step(tx_default(10), intents=[Intent(1, 0, 10.0)])
    passed = judge_check(check_of([(BASELINE, 0), (step, 20)], {1: series([(5, 32), (26, 10), (36, 10)])}), SETTINGS)
    failed = judge_check(
        check_of([(BASELINE, 0), (step, 20)], {1: series([(5, 32), (26, 32), (36, 32)])},
                 check=AcceptanceTest.STACK_RESOLUTION), SETTINGS,
    )
    skipped = CheckResult(AcceptanceTest.FALLBACK, "CP1", CheckVerdict.INCONCLUSIVE, "no session",
                          (Finding(CheckVerdict.INCONCLUSIVE, "no session"),))
    checks = (AcceptanceTest.SCOPE, AcceptanceTest.STACK_RESOLUTION, AcceptanceTest.FALLBACK)
    station = StationSummary("CP1", "2.0.1", "Acme", "Wallbox <1>", "fw 3", "everest", "everest with no-limit "
                             "reported as -1", ("reports -1 where nothing limits",),
                             {c: r.verdict for c, r in zip(checks, (passed, failed, skipped), strict=True)})
    return AcceptanceReport(T0, at(600), checks, (station,), (passed, failed, skipped), settings={"reaction_s": 5.0},
                            restored=("CP1: cleared profile 30000 left by the suite",))


def test_the_html_report_has_the_matrix_the_evidence_and_embedded_plots():
    page = report_to_html(sample_report())
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert "Stations × checks" in page and "Wallbox &lt;1&gt;" in page  # escaped
    assert "everest with no-limit reported as -1" in page
    assert page.count("data:image/png;base64,") == 2  # the two measured checks; the inconclusive one has no samples
    assert "drew 32 A where 10 A was allowed" in page
    assert "cleared profile 30000" in page


def test_the_json_report_holds_verdicts_findings_steps_and_series():
    data = json.loads(json.dumps(report_to_json(sample_report())))
    assert data["format"] == "wattcap.acceptance/1" and data["passed"] is False
    assert data["stations"][0]["verdicts"] == {"scope": "pass", "stack": "fail", "fallback": "inconclusive"}
    stack = next(r for r in data["results"] if r["check"] == "stack")
    assert stack["verdict"] == "fail" and stack["findings"][0]["verdict"] == "fail"
    assert stack["series"][0]["measured"][0][0].endswith("Z") and stack["steps"][1]["name"] == "limit"


def test_the_junit_report_fails_failed_and_unsupported_checks_and_skips_inconclusive_ones():
    root = report_to_junit(sample_report())
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"2. scope", "3. stack resolution", "6. fallback"}
    assert suites["3. stack resolution"].get("failures") == "1"
    [case] = suites["3. stack resolution"].iter("testcase")
    assert case.get("name") == "CP1" and case.find("failure").get("type") == "fail"
    assert next(suites["6. fallback"].iter("testcase")).find("skipped") is not None


def test_all_three_are_written_into_one_directory(tmp_path):
    written = write_reports(sample_report(), tmp_path / "report", plots=False)
    assert sorted(p.name for p in written.values()) == ["junit.xml", "report.html", "report.json"]
    ET.parse(written["junit"])
    assert json.loads(written["json"].read_text(encoding="utf-8"))["checks"] == ["scope", "stack", "fallback"]
    assert "data:image/png" not in written["html"].read_text(encoding="utf-8")
