"""The acceptance report as one self-contained HTML file: the verdict matrix first, then every check's evidence.

For a deployer deciding on a rollout: the matrix of stations × checks with each station's vendor, model,
firmware, configured and observed dialect and quirks (the variance across the site), the site cap on the
aggregate, and per station and check the steps (what was sent, what was expected, what happened), the operations
and composites (expected vs reported), the findings, and a plot of the meter against the limits (embedded PNG).
Plain HTML and inline CSS, no scripts, no external files: it can be attached to a ticket or mailed.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable, Iterable
from pathlib import Path

from wattcap.acceptance.checks import CheckVerdict
from wattcap.acceptance.evidence import AcceptanceReport, CheckResult, CompositeReport
from wattcap.acceptance.plots import plot_png

_COLORS = {
    CheckVerdict.PASS: "#c8e6c9",
    CheckVerdict.FAIL: "#ffcdd2",
    CheckVerdict.UNSUPPORTED: "#ffe0b2",
    CheckVerdict.INCONCLUSIVE: "#e0e0e0",
}

_CSS = """
body { font-family: system-ui, sans-serif; font-size: 14px; margin: 1.5em; color: #212121; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #bdbdbd; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bdbdbd; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #f5f5f5; }
td.verdict { text-align: center; font-weight: 600; }
.small { font-size: 12px; color: #424242; }
pre { font-size: 11px; background: #fafafa; padding: 4px; overflow-x: auto; max-height: 14em; }
details { margin: 0.3em 0 0.8em 0; }
img { max-width: 100%; border: 1px solid #e0e0e0; }
"""


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text))


def _verdict_cell(verdict: CheckVerdict | None, link: str | None = None) -> str:
    if verdict is None:
        return "<td></td>"
    label = _e(verdict.value)
    if link:
        label = f'<a href="#{link}">{label}</a>'
    return f'<td class="verdict" style="background:{_COLORS[verdict]}">{label}</td>'


def _anchor(result: CheckResult) -> str:
    return f"{result.station_id}-{result.check.slug}".replace(" ", "_")


def _matrix(report: AcceptanceReport) -> str:
    head = "".join(f"<th>{c.number}. {_e(c.value)}</th>" for c in report.checks)
    rows = []
    for station in report.stations:
        cells = "".join(
            _verdict_cell(station.verdicts.get(c), _anchor_of(report, station.station_id, c)) for c in report.checks
        )
        who = " ".join(p for p in (station.vendor, station.model, station.firmware) if p) or "?"
        quirks = "<br>".join(_e(q) for q in station.quirks) or "-"
        rows.append(
            f"<tr><td><b>{_e(station.station_id)}</b></td><td>{_e(who)}</td><td>{_e(station.ocpp_version)}</td>"
            f"<td>{_e(station.configured_dialect)}</td><td>{_e(station.observed_dialect or '-')}</td>{cells}"
            f'<td class="small">{quirks}</td></tr>'
        )
    return (
        "<table><tr><th>station</th><th>vendor / model / firmware</th><th>OCPP</th><th>configured dialect</th>"
        f"<th>observed dialect</th>{head}<th>quirks seen</th></tr>{''.join(rows)}</table>"
    )


def _anchor_of(report: AcceptanceReport, station_id: str, check) -> str | None:
    result = report.result(station_id, check)
    return None if result is None else _anchor(result)


def _periods(schedule: dict | None) -> str:
    """A composite (wattcap's JSON or a charger's wire answer) as 'start: limit' lines."""
    if not schedule:
        return "-"
    if "schedule" in schedule:  # 2.0.1 answer
        schedule = schedule["schedule"] or {}
    body = schedule.get("chargingSchedule", schedule)
    periods = body.get("chargingSchedulePeriod") or schedule.get("periods") or []
    unit = body.get("chargingRateUnit") or schedule.get("chargingRateUnit") or schedule.get("unit") or ""
    lines = []
    for p in periods[:12]:
        start = p.get("startPeriod", p.get("start_period"))
        phases = p.get("numberPhases", p.get("number_phases"))
        lines.append(f"{start}s: {p.get('limit')} {unit}" + (f" ({phases} ph)" if phases else ""))
    if len(periods) > 12:
        lines.append(f"… {len(periods) - 12} more")
    status = schedule.get("status")
    return ("<br>".join(_e(line) for line in lines) or "(no periods)") + (f"<br>{_e(status)}" if status else "")


def _composites(composites: Iterable[CompositeReport]) -> str:
    rows = []
    for c in composites:
        notes = "<br>".join(_e(d) for d in (*c.differences, *c.quirks)) or ""
        rows.append(
            f"<tr><td>EVSE {c.evse_id} ({_e(c.unit)})</td><td>{_e(c.verdict)}</td>"
            f'<td class="small">{_periods(c.expected)}</td><td class="small">{_periods(c.reported)}</td>'
            f'<td class="small">{notes}</td></tr>'
        )
    if not rows:
        return ""
    return ("<table><tr><th>composite</th><th>read-back</th><th>expected (engine)</th><th>reported (charger)</th>"
            f"<th>differences</th></tr>{''.join(rows)}</table>")


def _result_section(result: CheckResult, plots: bool, plotter: Callable[[CheckResult], bytes | None]) -> str:
    parts = [
        f'<h3 id="{_anchor(result)}">{_e(result.station_id)}: {result.check.number}. {_e(result.check.value)} '
        f'<span style="background:{_COLORS[result.verdict]};padding:0 6px">{_e(result.verdict.value)}</span></h3>',
        f"<p>{_e(result.reason)}</p>",
    ]
    if result.observed_dialect:
        parts.append(f"<p>observed dialect: <b>{_e(result.observed_dialect)}</b></p>")
    if result.steps:
        rows = []
        for step in result.steps:
            operations = "<br>".join(_e(o) for o in step.operations)
            rows.append(
                f"<tr><td><b>{_e(step.name)}</b><br><span class='small'>{step.started:%H:%M:%S}</span></td>"
                f"<td class='small'>{_e(step.sends)}</td><td class='small'>{_e(step.expect)}</td>"
                f"<td class='small'>{_e(step.outcome)}</td><td class='small'>{operations}</td></tr>"
            )
        parts.append("<table><tr><th>step</th><th>sends</th><th>expected</th><th>outcome</th><th>operations</th>"
                     f"</tr>{''.join(rows)}</table>")
        composites = [c for s in result.steps for c in s.composites]
        if composites:
            parts.append(f"<details><summary>composites read back ({len(composites)})</summary>"
                         f"{_composites(composites)}</details>")
    if result.findings:
        items = "".join(f"<li>[{_e(f.verdict.value)}] {_e(f.describe())}</li>" for f in result.findings)
        parts.append(f"<details open><summary>findings</summary><ul>{items}</ul></details>")
    if plots:
        image = plotter(result)
        if image:
            encoded = base64.b64encode(image).decode("ascii")
            parts.append(f'<img alt="meter values against the limits" src="data:image/png;base64,{encoded}">')
    return "\n".join(parts)


def report_to_html(
    report: AcceptanceReport, *, plots: bool = True, plotter: Callable[[CheckResult], bytes | None] = plot_png
) -> str:
    failed = sum(1 for r in report.results if r.verdict.failed)
    summary = (f"{len(report.stations)} station(s), {len(report.checks)} check(s): "
               f"{sum(1 for r in report.results if r.verdict is CheckVerdict.PASS)} passed, {failed} failed or "
               f"unsupported, {sum(1 for r in report.results if r.verdict is CheckVerdict.INCONCLUSIVE)} inconclusive")
    body = [
        "<h1>wattcap acceptance: is this site's charging-profile strategy deployment-ready?</h1>",
        f"<p>{report.started:%Y-%m-%d %H:%M:%S}Z to {report.ended:%H:%M:%S}Z (the control plane's clock). "
        f"{_e(summary)}.</p>",
        "<h2>Stations × checks</h2>",
        _matrix(report),
        "<p class='small'>pass: the charger does what the specification (as its dialect reads it) says; fail: "
        "evidence against it; unsupported: it refused something the check needs; inconclusive: nothing decided it "
        "(see docs/acceptance.md).</p>",
    ]
    if report.site is not None:
        body += ["<h2>Site cap: the aggregate</h2>", _result_section(report.site, plots, plotter)]
    for station in report.stations:
        body.append(f"<h2>{_e(station.station_id)}</h2>")
        body.extend(_result_section(r, plots, plotter) for r in report.results if r.station_id == station.station_id)
    if report.restored:
        items = "".join(f"<li>{_e(line)}</li>" for line in report.restored)
        body.append(f"<h2>Restore</h2><ul>{items}</ul>")
    body.append("<h2>Settings</h2><pre>" + _e(json.dumps(dict(report.settings), indent=1, default=str)) + "</pre>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>wattcap acceptance</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")


def write_html(report: AcceptanceReport, path: Path, *, plots: bool = True) -> Path:
    path.write_text(report_to_html(report, plots=plots), encoding="utf-8")
    return path
