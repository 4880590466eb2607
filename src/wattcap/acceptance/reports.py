"""All three report formats into one directory: ``report.html`` (with plots), ``report.json``, ``junit.xml``."""

from __future__ import annotations

from pathlib import Path

from wattcap.acceptance.evidence import AcceptanceReport
from wattcap.acceptance.report_html import write_html
from wattcap.acceptance.report_json import write_json
from wattcap.acceptance.report_junit import write_junit


def write_reports(report: AcceptanceReport, directory: Path, *, plots: bool = True) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "html": write_html(report, directory / "report.html", plots=plots),
        "json": write_json(report, directory / "report.json"),
        "junit": write_junit(report, directory / "junit.xml"),
    }
