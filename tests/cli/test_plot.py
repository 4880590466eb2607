"""``--plot``: composite schedules written as SVG or PNG files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wattcap.cli import plot
from wattcap.cli.plot import write_plot
from wattcap.core.model import (
    ChargingProfilePurpose,
    ChargingRateUnit,
    CompositeLayer,
    CompositePeriod,
    CompositeSchedule,
    LayerPeriod,
    ProfileRef,
)
from wattcap.core.timeutil import utc

P = ChargingProfilePurpose
A, W = ChargingRateUnit.A, ChargingRateUnit.W
TX_DEFAULT = ProfileRef(301, P.TX_DEFAULT, 5, 0)
TX = ProfileRef(7, P.TX, 1, 2)


def schedule(duration: int = 86_400) -> CompositeSchedule:
    """A fleet TxProfile (in W) for an hour, then the TxDefault, then the local limit, then undefined."""
    return CompositeSchedule(
        evse_id=2,
        schedule_start=utc(2026, 11, 25, 6),
        duration=duration,
        charging_rate_unit=A,
        periods=(
            CompositePeriod(0, 10.0, 3, governed_by=(TX,)),
            CompositePeriod(3_600, 16.0, 3, governed_by=(TX_DEFAULT,)),
            CompositePeriod(72_000, 48.0, None),
            CompositePeriod(80_000, -1.0, None),
        ),
        layers=(
            CompositeLayer(
                P.TX_DEFAULT,
                0,
                (LayerPeriod(0, 32.0, A, 3, TX_DEFAULT), LayerPeriod(3_600, 16.0, A, 3, TX_DEFAULT)),
            ),
            CompositeLayer(P.TX, 2, (LayerPeriod(0, 6_900.0, W, 3, TX), LayerPeriod(3_600, None, None, None, None))),
        ),
    )


@pytest.fixture(scope="module")
def depot_svg(tmp_path_factory) -> Path:
    """The plot of :func:`schedule`, drawn once for the tests that only read it (drawing is the slow part)."""
    target = tmp_path_factory.mktemp("plot") / "depot.svg"
    write_plot(target, [schedule()], voltage=230.0, default_phases=3)
    return target


def test_svg_names_layers_governors_and_axes(depot_svg):
    svg = depot_svg.read_text(encoding="utf-8")
    assert len(svg) > 10_000
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in (
        "layer TxDefaultProfile @ evse 0",
        "layer TxProfile @ evse 2",
        "composite, set by TxProfile",
        "composite, local limit",
        "undefined (no limit defined)",
        "limit [A]",
        "time (UTC)",
    ):
        assert text in svg


def test_png_is_written_and_the_suffix_is_case_insensitive(tmp_path):
    target = tmp_path / "out" / "depot.PNG"
    write_plot(target, schedule(), voltage=230.0, default_phases=3)
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000


@pytest.mark.parametrize("name", ["depot.pdf", "depot", "depot.svg.txt"])
def test_other_suffixes_are_refused_before_anything_is_written(tmp_path, name):
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        write_plot(tmp_path / name, [schedule()], voltage=230.0, default_phases=3)
    assert list(tmp_path.iterdir()) == []


def test_nothing_to_plot_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no composite schedule"):
        write_plot(tmp_path / "x.svg", [], voltage=230.0, default_phases=3)


def test_many_scenarios_are_cut_and_the_title_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(plot, "MAX_SUBPLOTS", 2)
    target = tmp_path / "many.svg"
    write_plot(target, [schedule()] * 3, voltage=230.0, default_phases=3, titles=["first-id", "second-id", "third-id"])
    svg = target.read_text(encoding="utf-8")
    assert "first 2 of 3 composite schedules" in svg
    assert "first-id" in svg and "second-id" in svg and "third-id" not in svg


@pytest.mark.parametrize("duration", [0, 1])
def test_zero_and_one_second_windows_plot(tmp_path, duration):
    target = tmp_path / "short.svg"
    write_plot(target, [schedule(duration)], voltage=230.0, default_phases=3)
    svg = target.read_text(encoding="utf-8")
    assert "06:00:00" in svg
    assert ("(0 s window)" in svg) is (duration == 0)


def test_svg_output_is_reproducible(tmp_path, depot_svg):
    again = tmp_path / "again.svg"
    write_plot(again, [schedule()], voltage=230.0, default_phases=3)
    assert again.read_bytes() == depot_svg.read_bytes()


def test_importing_the_renderers_does_not_import_matplotlib():
    code = "import sys, wattcap.cli, wattcap.cli.render, wattcap.cli.plot; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
