"""The acceptance report as JUnit XML, so a CI system or a rollout pipeline can gate on it.

One ``testsuite`` per check, one ``testcase`` per station. ``fail`` and ``unsupported`` are failures (the station
is not ready for what the check tests; the ``type`` says which), ``inconclusive`` is skipped (nothing decided it).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from wattcap.acceptance.checks import CheckVerdict
from wattcap.acceptance.evidence import AcceptanceReport, CheckResult


def _seconds(result: CheckResult) -> str:
    if result.started is None or result.ended is None:
        return "0"
    return f"{max(0.0, (result.ended - result.started).total_seconds()):.1f}"


def report_to_junit(report: AcceptanceReport) -> ET.Element:
    root = ET.Element("testsuites", name="wattcap acceptance")
    for check in report.checks:
        results = [r for r in report.results if r.check is check]
        suite = ET.SubElement(
            root, "testsuite", name=f"{check.number}. {check.value}", tests=str(len(results)),
            failures=str(sum(1 for r in results if r.verdict.failed)),
            skipped=str(sum(1 for r in results if r.verdict is CheckVerdict.INCONCLUSIVE)),
            timestamp=report.started.isoformat(),
        )
        for result in results:
            case = ET.SubElement(suite, "testcase", classname=f"acceptance.{check.slug}", name=result.station_id,
                                 time=_seconds(result))
            if result.verdict.failed:
                ET.SubElement(case, "failure", message=result.reason, type=result.verdict.value).text = "\n".join(
                    f"[{f.verdict.value}] {f.describe()}" for f in result.findings
                )
            elif result.verdict is CheckVerdict.INCONCLUSIVE:
                ET.SubElement(case, "skipped", message=result.reason)
            steps = "\n".join(f"{s.name}: sends {s.sends}; expects {s.expect}; {s.outcome}" for s in result.steps)
            ET.SubElement(case, "system-out").text = steps
    return root


def write_junit(report: AcceptanceReport, path: Path) -> Path:
    tree = ET.ElementTree(report_to_junit(report))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
