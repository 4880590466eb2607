"""The step chart of a composite schedule, with one lane per stacked layer beneath it.

A pure function of the schedule and the console width (:func:`chart_lines` returns the lines), so a test can
render into ``Console(record=True, width=100)`` and read the text back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from rich.text import Text

from wattcap.cli.render_common import (
    LOCAL_LIMIT,
    LOCAL_LIMIT_COLOR,
    PURPOSE_ABBREVIATIONS,
    PURPOSE_COLORS,
    SEVERAL_PURPOSES_COLOR,
    UNDEFINED,
    convert_limit,
    evse_label,
    format_limit,
    governing_color,
    window_end,
)
from wattcap.core.model import (
    ChargingProfilePurpose,
    ChargingRateUnit,
    CompositeLayer,
    CompositePeriod,
    CompositeSchedule,
)
from wattcap.core.timeutil import floor_epoch, format_timestamp, from_epoch

_BLOCKS = "▁▂▃▄▅▆▇█"
_TICK_INTERVALS_S = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 14_400, 21_600, 43_200,
    86_400, 172_800, 604_800, 2_592_000,
)  # fmt: skip


def render_chart(
    console: Console,
    schedule: CompositeSchedule,
    *,
    width: int | None = None,
    height: int = 12,
    voltage: float | None = None,
    default_phases: int = 3,
) -> None:
    """Print a step chart of the composite limit over the window, with one lane per stacked layer beneath it.

    The composite is drawn as a heavy line coloured by who governs each stretch. Each layer (a purpose's
    stacked result on one EVSE) gets a one-row lane of block characters on a shared scale (▁ = 0 … █ = the
    largest limit shown), so the reason for every step of the composite can be read off directly below it.
    A layer in the other unit is converted when ``voltage`` is given and otherwise drawn on its own scale.
    Each column shows what is in force at its start time; the table lists every period exactly.
    """
    for line in chart_lines(
        schedule,
        width=width if width is not None else console.width,
        height=height,
        voltage=voltage,
        default_phases=default_phases,
    ):
        console.print(line, no_wrap=True, overflow="crop", crop=True)


def chart_lines(
    schedule: CompositeSchedule,
    *,
    width: int,
    height: int = 12,
    voltage: float | None = None,
    default_phases: int = 3,
) -> list[Text]:
    """The lines :func:`render_chart` prints (each at most ``width`` cells)."""
    unit = schedule.charging_rate_unit
    height = max(2, height)
    span = max(schedule.duration, 1)
    lines = [_chart_title(schedule)]
    if not schedule.periods:
        return _fit([*lines, Text("(no periods)", "dim")], width)

    defined = [p.limit for p in schedule.periods if p.limit >= 0]
    top = max(defined, default=0.0) or 1.0
    y_labels = {0: format_limit(0.0, unit), height - 1: format_limit(top, unit)}
    for value in sorted(set(defined)):
        y_labels.setdefault(_row(value, top, height), format_limit(value, unit))

    lanes = [_Lane.build(layer, unit, voltage=voltage, default_phases=default_phases) for layer in schedule.layers]
    margin = max([len(f"[{unit.value}]")] + [len(s) for s in y_labels.values()] + [len(ln.label) for ln in lanes])
    plot_w = max(1, width - margin - 1)

    columns = [_offset_of_column(c, plot_w, span) for c in range(plot_w)]
    periods = [_in_force(schedule.periods, offset) for offset in columns]
    lines.extend(_plot_rows(periods, top, height, margin, y_labels, unit))
    lines.extend(_x_axis(schedule.schedule_start, schedule.duration, span, plot_w, margin))
    if lanes:
        lines.extend(_lane_rows(lanes, columns, top, margin, unit))
    lines.extend(_pack(_legend(schedule, lanes), width))
    return _fit(lines, width)


def _fit(lines: list[Text], width: int) -> list[Text]:
    for line in lines:
        line.truncate(max(width, 1), overflow="crop")
        line.rstrip()
    return lines


def _chart_title(schedule: CompositeSchedule) -> Text:
    start, end = schedule.schedule_start, window_end(schedule)
    text = Text(f"Composite limit · {evse_label(schedule.evse_id)} · ", style="bold")
    text.append(f"{format_timestamp(start)} → {format_timestamp(end)} ({schedule.duration} s, UTC)")
    return text


def _offset_of_column(column: int, plot_w: int, span: int) -> float:
    return column * span / plot_w


def _in_force(periods: Sequence[CompositePeriod], offset: float) -> CompositePeriod | None:
    current = None
    for period in periods:
        if period.start_period > offset:
            break
        current = period
    return current


def _row(value: float, top: float, height: int) -> int:
    return min(height - 1, max(0, round(value / top * (height - 1))))


def _plot_rows(
    periods: Sequence[CompositePeriod | None],
    top: float,
    height: int,
    margin: int,
    y_labels: Mapping[int, str],
    unit: ChargingRateUnit,
) -> list[Text]:
    grid: list[list[tuple[str, str]]] = [[(" ", "")] * len(periods) for _ in range(height)]
    previous: int | None = None
    for column, period in enumerate(periods):
        if period is None or period.limit < 0:
            grid[0][column] = ("┄", "dim yellow")
            previous = None
            continue
        row = _row(period.limit, top, height)
        style = governing_color(period.governed_by)
        if previous is None or previous == row:
            grid[row][column] = ("━", style)
        else:
            up = row > previous
            grid[previous][column] = ("┛" if up else "┓", style)
            for between in range(min(row, previous) + 1, max(row, previous)):
                grid[between][column] = ("┃", style)
            grid[row][column] = ("┏" if up else "┗", style)
        previous = row

    lines = [Text(f"[{unit.value}]".rjust(margin), "dim")]
    for row in range(height - 1, -1, -1):
        label = y_labels.get(row)
        line = Text()
        line.append((label or "").rjust(margin), "dim")
        line.append("┤" if label is not None else "│", "dim")
        for char, style in grid[row]:
            line.append(char, style)
        lines.append(line)
    return lines


def _x_axis(start: datetime, duration: int, span: int, plot_w: int, margin: int) -> list[Text]:
    """The axis line with ticks, and the time labels under them (UTC, aligned to round clock times)."""
    ticks = _ticks(start, duration, span, plot_w)
    axis = ["─"] * plot_w
    labels = [" "] * plot_w
    free_from = 0
    for column, label in ticks:
        axis[column] = "┬"
        place = min(column, plot_w - len(label))
        if place < free_from or place < 0:
            continue
        labels[place : place + len(label)] = label
        free_from = place + len(label) + 1
    return [
        Text(" " * margin + "└" + "".join(axis), "dim"),
        Text(" " * (margin + 1) + "".join(labels)),
    ]


def _ticks(start: datetime, duration: int, span: int, plot_w: int) -> list[tuple[int, str]]:
    """(column, label) pairs: the finest round interval whose labels fit side by side in ``plot_w``."""
    if duration <= 0:
        return [(0, start.strftime("%H:%M:%S"))]
    first = floor_epoch(start)
    for interval in _TICK_INTERVALS_S:
        fmt = _tick_format(interval, span)
        width = len(start.strftime(fmt)) + 2
        epochs = range(math.ceil(first / interval) * interval, first + span + 1, interval)
        if len(epochs) <= max(1, plot_w // width):
            break
    return [(min(plot_w - 1, int((t - first) * plot_w // span)), from_epoch(t).strftime(fmt)) for t in epochs]


def _tick_format(interval: int, span: int) -> str:
    if interval % 86_400 == 0:
        return "%m-%d"
    if interval < 60:
        return "%H:%M:%S"
    if span > 86_400:
        return "%m-%d %H:%M"
    return "%H:%M"


@dataclass(frozen=True, slots=True)
class _Lane:
    """One layer sampled for the chart: its label, colour and values in the chart's unit (or its own)."""

    layer: CompositeLayer
    label: str
    color: str
    periods: tuple[tuple[int, float | None], ...]
    own_unit: ChargingRateUnit | None  # set when values could not be converted to the chart's unit

    @classmethod
    def build(
        cls, layer: CompositeLayer, unit: ChargingRateUnit, *, voltage: float | None, default_phases: int
    ) -> _Lane:
        periods: list[tuple[int, float | None]] = []
        own_unit = None
        for lp in layer.periods:
            value = lp.limit if lp.limit is not None and lp.limit >= 0 else None
            if value is not None and lp.unit is not None and lp.unit is not unit:
                converted = None
                if voltage is not None:
                    phases = lp.number_phases or default_phases
                    converted = convert_limit(value, lp.unit, unit, voltage=voltage, phases=phases)
                if converted is None:
                    own_unit = lp.unit
                else:
                    value = converted
            periods.append((lp.start_period, value))
        label = f"{PURPOSE_ABBREVIATIONS.get(layer.purpose, layer.purpose.value)}@{layer.evse_id}"
        color = PURPOSE_COLORS.get(layer.purpose, SEVERAL_PURPOSES_COLOR)
        return cls(layer, label, color, tuple(periods), own_unit)

    def value_at(self, offset: float) -> float | None:
        current = None
        for start, value in self.periods:
            if start > offset:
                break
            current = value
        return current

    def peak(self) -> float:
        return max((v for _, v in self.periods if v is not None), default=0.0)


def _lane_rows(
    lanes: Sequence[_Lane], columns: Sequence[float], top: float, margin: int, unit: ChargingRateUnit
) -> list[Text]:
    shared_top = max([top] + [lane.peak() for lane in lanes if lane.own_unit is None]) or 1.0
    header = Text(" " * margin + " ")
    header.append(f"layers: ▁ 0 … █ {format_limit(shared_top, unit)} {unit.value}, · no limit", "dim")
    lines = [header]
    for lane in lanes:
        lane_top = (lane.peak() or 1.0) if lane.own_unit is not None else shared_top
        line = Text()
        line.append(lane.label.rjust(margin), lane.color)
        line.append(" ")
        for offset in columns:
            value = lane.value_at(offset)
            if value is None:
                line.append("·", "dim")
            else:
                level = min(len(_BLOCKS) - 1, max(0, round(value / lane_top * (len(_BLOCKS) - 1))))
                line.append(_BLOCKS[level], lane.color)
        lines.append(line)
    return lines


def _legend(schedule: CompositeSchedule, lanes: Sequence[_Lane]) -> list[Text]:
    """Colour key: purposes that govern or have a lane, then local limit / mixed / undefined where they occur."""
    purposes: list[ChargingProfilePurpose] = []
    for period in schedule.periods:
        purposes.extend(ref.purpose for ref in period.governed_by)
    purposes.extend(lane.layer.purpose for lane in lanes)
    items: list[Text] = []
    for purpose in sorted(set(purposes), key=list(ChargingProfilePurpose).index):
        abbreviation = PURPOSE_ABBREVIATIONS.get(purpose)
        name = f"{abbreviation} = {purpose.value}" if abbreviation else purpose.value
        items.append(Text.assemble(("━ ", PURPOSE_COLORS.get(purpose, SEVERAL_PURPOSES_COLOR)), name))
    if any(p.is_local_limit and p.limit >= 0 for p in schedule.periods):
        items.append(Text.assemble(("━ ", LOCAL_LIMIT_COLOR), LOCAL_LIMIT))
    if any(len({ref.purpose for ref in p.governed_by}) > 1 for p in schedule.periods):
        items.append(Text.assemble(("━ ", SEVERAL_PURPOSES_COLOR), "several purposes"))
    if any(p.limit < 0 for p in schedule.periods):
        items.append(Text.assemble(("┄ ", "dim yellow"), f"{UNDEFINED} (no limit defined)"))
    for lane in lanes:
        if lane.own_unit is not None:
            items.append(Text(f"{lane.label} on its own scale ({lane.own_unit.value})", "dim"))
    return items


def _pack(items: Sequence[Text], width: int, gap: str = "  ") -> list[Text]:
    """Lay ``items`` out left to right, starting a new line where the next would not fit in ``width``."""
    lines: list[Text] = []
    line = Text()
    for item in items:
        if line.cell_len and line.cell_len + len(gap) + item.cell_len > width:
            lines.append(line)
            line = Text()
        if line.cell_len:
            line.append(gap)
        line.append_text(item)
    if line.cell_len:
        lines.append(line)
    return lines
