"""Meter samples against the limits in force, one PNG per check and station, for the HTML report.

For each EVSE (and the station's sum where a station-wide limit applies) a subplot: the measured draw (the highest
phase current for A limits, the active power for W limits) as dots and a line, the limit in force as a step line (a
one-phase period drawn dashed), the step starts (dotted) and the scheduled boundaries (dashed) as vertical lines,
the time the link was cut shaded. Drawn on an explicit Agg canvas (no pyplot state, no display), matplotlib imported
only when a plot is made.
"""

from __future__ import annotations

import io

from wattcap.acceptance.evidence import CheckResult, Series

_LIMIT_COLOR = "#c62828"
_DRAW_COLOR = "#1565c0"
_STEP_COLOR = "#9e9e9e"
_EDGE_COLOR = "#ef6c00"
_OFFLINE_COLOR = "#9575cd"


def _axes_for(result: CheckResult) -> list[Series]:
    return [s for s in result.series if s.measured or any(a.limit is not None for a in s.allowed)]


def plot_png(result: CheckResult, *, width_in: float = 9.0, row_in: float = 2.2, dpi: int = 80) -> bytes | None:
    """The plot of ``result`` as PNG bytes (None when there is nothing measured to show)."""
    series = _axes_for(result)
    if not series:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, row_in * len(series) + 0.6), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(series), 1, sharex=True, squeeze=False)[:, 0]
    starts = [s.started for s in result.steps]
    edges = [e for s in result.steps for e in s.edges]
    offline = [s.offline for s in result.steps if s.offline is not None]
    for ax, line in zip(axes, series, strict=True):
        _limits(ax, line)
        if line.measured:
            times = [t for t, _ in line.measured]
            values = [v for _, v in line.measured]
            ax.plot(times, values, color=_DRAW_COLOR, marker="o", markersize=2.5, linewidth=0.8,
                    drawstyle="steps-post", label="measured")
        for cut, back in offline:
            ax.axvspan(cut, back, color=_OFFLINE_COLOR, alpha=0.25, label="link cut" if ax is axes[0] else None)
        for at in starts:
            ax.axvline(at, color=_STEP_COLOR, linewidth=0.6, linestyle=":")
        for at in edges:
            ax.axvline(at, color=_EDGE_COLOR, linewidth=0.6, linestyle="--")
        ax.set_ylabel(f"{line.label}\n{line.unit.value}", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        ax.grid(True, linewidth=0.3, alpha=0.5)
    axes[0].legend(loc="upper right", fontsize=7)
    axes[-1].xaxis.set_major_formatter(DateFormatter("%H:%M:%S"))
    figure.suptitle(f"{result.station_id}: {result.check.value} ({result.verdict.value})", fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _limits(ax, line: Series) -> None:
    """The limit as a step line: solid on three phases, dashed where numberPhases is 1; gaps where none applies."""
    labelled = False
    for segment in line.allowed:
        if segment.limit is None:
            continue
        style = "--" if segment.phases == 1 else "-"
        ax.plot([segment.start, segment.end], [segment.limit, segment.limit], color=_LIMIT_COLOR, linewidth=1.6,
                linestyle=style, label=None if labelled else "limit in force")
        labelled = True
