"""``--plot FILE.svg|png``: composite schedules drawn with matplotlib, one subplot per scenario.

matplotlib is imported inside :func:`write_plot`, never at module import, so ``wattcap`` starts fast when no
plot is asked for. The figure is drawn on an explicit Agg canvas instead of switching pyplot's global backend:
nothing leaks into the process, and no display is needed.

The composite is a thick step line coloured by who governs each period (the colours of
:data:`wattcap.cli.render.PURPOSE_COLORS`); every layer is a thin dashed step line of its purpose's colour
behind it, so the plot shows which profile holds the limit down and what the others would have allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import cycle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wattcap.cli.render import (
    LOCAL_LIMIT,
    LOCAL_LIMIT_COLOR,
    PURPOSE_COLORS,
    SEVERAL_PURPOSES_COLOR,
    convert_limit,
    evse_label,
    governing_color,
)
from wattcap.core.model import ChargingRateUnit, CompositeLayer, CompositeSchedule
from wattcap.core.timeutil import format_timestamp

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MAX_SUBPLOTS = 12
"""More scenarios than this are cut (the figure's title says so): a taller figure stops being readable."""

PLOT_FORMATS = {".svg": "svg", ".png": "png"}

_LAYER_DASHES = ((0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)), (0, (3, 3)))
_UNDEFINED_COLOR = "#ffd54f"


def write_plot(
    path: Path,
    schedules: Sequence[CompositeSchedule] | CompositeSchedule,
    *,
    voltage: float,
    default_phases: int,
    titles: Sequence[str | None] | None = None,
) -> None:
    """Write a step plot of ``schedules`` (one subplot each, at most :data:`MAX_SUBPLOTS`) to ``path``.

    The format follows the suffix, ``.svg`` or ``.png``; anything else raises ValueError before any work is
    done. ``titles`` (e.g. scenario ids) name the subplots in order; missing ones fall back to the EVSE and
    window start. Layers in the other unit are converted with W = A × ``voltage`` × phases.
    """
    path = Path(path)
    file_format = PLOT_FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise ValueError(
            f"cannot write a plot to {str(path)!r}: the file name must end in .svg or .png "
            f"(got {path.suffix or 'no suffix'!r})"
        )
    items = [schedules] if isinstance(schedules, CompositeSchedule) else list(schedules)
    if not items:
        raise ValueError("no composite schedule to plot")
    shown = items[:MAX_SUBPLOTS]
    names = list(titles or [])

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    style = {"svg.fonttype": "none", "svg.hashsalt": "wattcap", "font.size": 9, "axes.titlesize": 10}
    with matplotlib.rc_context(style):
        figure = Figure(figsize=(12, 0.6 + 3.0 * len(shown)), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(len(shown), 1, squeeze=False)[:, 0]
        for index, (ax, schedule) in enumerate(zip(axes, shown, strict=True)):
            title = names[index] if index < len(names) else None
            _draw(ax, schedule, voltage=voltage, default_phases=default_phases, title=title)
        if len(items) > len(shown):
            figure.suptitle(f"first {len(shown)} of {len(items)} composite schedules (the rest not plotted)")
        metadata: dict[str, Any] = {"Date": None} if file_format == "svg" else {}
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format=file_format, dpi=110, metadata=metadata)


def _draw(ax: Axes, schedule: CompositeSchedule, *, voltage: float, default_phases: int, title: str | None) -> None:
    import matplotlib.dates as mdates

    unit = schedule.charging_rate_unit
    start = schedule.schedule_start
    end = start + timedelta(seconds=max(schedule.duration, 1))
    peak = _draw_layers(ax, schedule, end, unit=unit, voltage=voltage, default_phases=default_phases)
    peak = max(peak, _draw_composite(ax, schedule, end))

    ax.set_xlim(start, end)
    ax.set_ylim(0, (peak or 1.0) * 1.12)
    span = int((end - start).total_seconds())
    if span <= 60:  # the automatic locator would label fractions of a second
        ax.set_xticks([start + timedelta(seconds=s) for s in range(0, span + 1, max(1, span // 6))])
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=UTC))
    else:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=9, tz=UTC)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(f"limit [{unit.value}]")
    other = ChargingRateUnit.W if unit is ChargingRateUnit.A else ChargingRateUnit.A
    factor = voltage * default_phases
    if factor > 0:
        scale = factor if other is ChargingRateUnit.W else 1 / factor
        secondary = ax.secondary_yaxis("right", functions=(lambda v: v * scale, lambda v: v / scale))
        secondary.set_ylabel(f"[{other.value}] at {voltage:g} V × {default_phases} phases")
    ax.grid(True, alpha=0.3, linewidth=0.6)
    heading = title or f"{evse_label(schedule.evse_id)} · from {format_timestamp(start)}"
    ax.set_title(heading + (" (0 s window)" if schedule.duration <= 0 else ""), loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.09, 1.0), fontsize="small", frameon=False)


def _draw_composite(ax: Axes, schedule: CompositeSchedule, end: datetime) -> float:
    """Thick horizontal segments coloured by governor, thin grey risers between them; returns the peak."""
    labelled: set[str] = set()
    previous: float | None = None
    peak = 0.0
    for index, period in enumerate(schedule.periods):
        seg_start = schedule.schedule_start + timedelta(seconds=period.start_period)
        following = schedule.periods[index + 1] if index + 1 < len(schedule.periods) else None
        seg_end = schedule.schedule_start + timedelta(seconds=following.start_period) if following else end
        if period.limit < 0:
            label = "undefined (no limit defined)"
            ax.axvspan(seg_start, seg_end, color=_UNDEFINED_COLOR, alpha=0.3, zorder=0,
                       label=None if label in labelled else label)  # fmt: skip
            labelled.add(label)
            previous = None
            continue
        color = governing_color(period.governed_by)
        label = _governor_label(color)
        ax.hlines(period.limit, seg_start, seg_end, colors=color, linewidth=3.2, zorder=3,
                  label=None if label in labelled else label)  # fmt: skip
        labelled.add(label)
        if previous is not None and previous != period.limit:
            ax.vlines(seg_start, min(previous, period.limit), max(previous, period.limit),
                      colors="#444444", linewidth=1.0, zorder=2)  # fmt: skip
        previous = period.limit
        peak = max(peak, period.limit)
    return peak


def _governor_label(color: str) -> str:
    for purpose, purpose_color in PURPOSE_COLORS.items():
        if color == purpose_color:
            return f"composite, set by {purpose.value}"
    if color == LOCAL_LIMIT_COLOR:
        return f"composite, {LOCAL_LIMIT}"
    return "composite, several purposes" if color == SEVERAL_PURPOSES_COLOR else "composite"


def _draw_layers(
    ax: Axes,
    schedule: CompositeSchedule,
    end: datetime,
    *,
    unit: ChargingRateUnit,
    voltage: float,
    default_phases: int,
) -> float:
    """One thin dashed step line per layer, in the schedule's unit; returns the highest value drawn."""
    peak = 0.0
    dashes: dict[str, Any] = {}
    for layer in schedule.layers:
        color = PURPOSE_COLORS.get(layer.purpose, SEVERAL_PURPOSES_COLOR)
        pattern = dashes.setdefault(color, cycle(_LAYER_DASHES))
        times, values = _layer_steps(layer, schedule.schedule_start, end, unit, voltage, default_phases)
        if not times:
            continue
        ax.step(times, values, where="post", color=color, linewidth=1.3, linestyle=next(pattern), alpha=0.85,
                zorder=1, label=f"layer {layer.purpose.value} @ evse {layer.evse_id}")  # fmt: skip
        peak = max([peak] + [v for v in values if v == v])
    return peak


def _layer_steps(
    layer: CompositeLayer,
    start: datetime,
    end: datetime,
    unit: ChargingRateUnit,
    voltage: float,
    default_phases: int,
) -> tuple[list[datetime], list[float]]:
    """Step vertices of a layer; no limit (or an unconvertible one) is NaN, which matplotlib leaves blank."""
    times: list[datetime] = []
    values: list[float] = []
    for lp in layer.periods:
        value = float("nan")
        if lp.limit is not None and lp.limit >= 0:
            converted = convert_limit(
                lp.limit, lp.unit or unit, unit, voltage=voltage, phases=lp.number_phases or default_phases
            )
            value = float("nan") if converted is None else converted
        times.append(start + timedelta(seconds=lp.start_period))
        values.append(value)
    if times:
        times.append(end)
        values.append(values[-1])
    return times, values
