"""The acceptance report as JSON: everything the HTML shows, for machines (the API and UI will serve it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from wattcap.acceptance.evidence import AcceptanceReport, CheckResult, Series, StationSummary, StepReport

FORMAT = "wattcap.acceptance/1"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def _series(series: Series) -> dict[str, Any]:
    return {
        "evseId": series.evse_id,
        "label": series.label,
        "unit": series.unit.value,
        "measured": [[_plain(t), v] for t, v in series.measured],
        "allowed": [
            {"start": _plain(s.start), "end": _plain(s.end), "limit": s.limit, "numberPhases": s.phases}
            for s in series.allowed
        ],
    }


def _step(step: StepReport) -> dict[str, Any]:
    return {
        "name": step.name,
        "sends": step.sends,
        "expect": step.expect,
        "started": _plain(step.started),
        "outcome": step.outcome,
        "operations": list(step.operations),
        "edges": [_plain(e) for e in step.edges],
        "offline": None if step.offline is None else [_plain(t) for t in step.offline],
        "composites": [
            {
                "evseId": c.evse_id,
                "unit": c.unit,
                "verdict": c.verdict,
                "expected": c.expected,
                "reported": c.reported,
                "differences": list(c.differences),
                "quirks": list(c.quirks),
            }
            for c in step.composites
        ],
    }


def result_to_json(result: CheckResult) -> dict[str, Any]:
    return {
        "check": result.check.slug,
        "name": result.check.value,
        "stationId": result.station_id,
        "verdict": result.verdict.value,
        "reason": result.reason,
        "started": _plain(result.started),
        "ended": _plain(result.ended),
        "observedDialect": result.observed_dialect,
        "quirks": list(result.quirks),
        "findings": [{"verdict": f.verdict.value, "step": f.step, "text": f.text} for f in result.findings],
        "steps": [_step(s) for s in result.steps],
        "series": [_series(s) for s in result.series],
    }


def _station(summary: StationSummary) -> dict[str, Any]:
    return {
        "stationId": summary.station_id,
        "ocppVersion": summary.ocpp_version,
        "vendor": summary.vendor,
        "model": summary.model,
        "firmware": summary.firmware,
        "configuredDialect": summary.configured_dialect,
        "observedDialect": summary.observed_dialect,
        "quirks": list(summary.quirks),
        "verdicts": {check.slug: verdict.value for check, verdict in summary.verdicts.items()},
    }


def report_to_json(report: AcceptanceReport) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "started": _plain(report.started),
        "ended": _plain(report.ended),
        "passed": report.passed,
        "checks": [c.slug for c in report.checks],
        "settings": _plain(report.settings),
        "stations": [_station(s) for s in report.stations],
        "site": None if report.site is None else result_to_json(report.site),
        "results": [result_to_json(r) for r in report.results],
        "notes": list(report.notes),
        "restored": list(report.restored),
    }


def write_json(report: AcceptanceReport, path: Path) -> Path:
    path.write_text(json.dumps(report_to_json(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
