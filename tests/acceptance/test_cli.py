"""``wattcap acceptance``: its arguments, and one quick simulated run end to end (reports written, exit status)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from wattcap.cli import _register, app

_register()
cli = CliRunner()


def test_stations_or_personalities_but_not_both_and_known_checks_only():
    both = cli.invoke(app, ["acceptance", "--station", "CP1", "--simulate", "everest"], terminal_width=200)
    assert both.exit_code == 2 and "not both" in both.output
    unknown = cli.invoke(app, ["acceptance", "--simulate", "everest", "--tests", "nope"], terminal_width=200)
    assert unknown.exit_code == 2 and "site-cap" in unknown.output
    personality = cli.invoke(app, ["acceptance", "--simulate", "no-such-charger"], terminal_width=200)
    assert personality.exit_code == 2 and "list-personalities" in personality.output


def test_a_simulated_run_writes_the_three_reports_and_exits_0_when_everything_passed(tmp_path):
    result = cli.invoke(
        app,
        ["acceptance", "--simulate", "everest", "--tests", "variance", "--report", str(tmp_path), "--speed", "10",
         "--no-plots"],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["stations"][0]["verdicts"] == {"variance": "pass"}
    assert data["stations"][0]["observedDialect"] == "everest"
    assert (tmp_path / "report.html").exists() and (tmp_path / "junit.xml").exists()
