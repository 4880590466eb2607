"""The period table of a composite schedule: one row per period, the limit in A and W, and who sets it.

A pure function of the schedule and the console width, so a test can render into
``Console(record=True, width=100)`` and read the text back.
"""

from __future__ import annotations

from datetime import timedelta

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from wattcap.cli.render_common import (
    UNDEFINED,
    convert_limit,
    describe_governed_by,
    evse_label,
    format_limit,
    format_offset,
    governing_color,
    window_end,
)
from wattcap.core.model import ChargingRateUnit, CompositePeriod, CompositeSchedule
from wattcap.core.timeutil import format_timestamp

WIDE_TABLE = 110
"""Console width from which the table shows period ends as timestamps (else as offsets)."""


def render_table(
    console: Console,
    schedule: CompositeSchedule,
    *,
    voltage: float,
    default_phases: int,
    title: str | None = None,
) -> None:
    """Print one row per composite period: when, how much (in A and W), on how many phases, and set by whom.

    The limit is shown in both units because sites are sized in amps and tariffs in watts; the unit the
    schedule was computed in is bold, the other is derived with W = A × ``voltage`` × phases, where phases is
    the period's ``numberPhases`` or, shown in brackets, ``default_phases``. A period ends where the next one
    starts: on a console of at least :data:`WIDE_TABLE` columns as a timestamp, otherwise as an offset, so the
    attribution column keeps room on an ordinary 80–100 column terminal.
    """
    unit = schedule.charging_rate_unit
    wide = console.width >= WIDE_TABLE
    table = Table(
        title=Text(title if title is not None else f"Composite schedule · {evse_label(schedule.evse_id)}"),
        caption=Text(_table_caption(schedule, voltage, default_phases)),
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0),
    )
    native = {"style": "bold"}
    table.add_column("start (UTC)", no_wrap=True)
    table.add_column("offset", justify="right", no_wrap=True)
    table.add_column("end (UTC)" if wide else "end", justify="left" if wide else "right", no_wrap=True)
    table.add_column("limit A", justify="right", no_wrap=True, **(native if unit is ChargingRateUnit.A else {}))
    table.add_column("limit W", justify="right", no_wrap=True, **(native if unit is ChargingRateUnit.W else {}))
    table.add_column("phases", justify="right", no_wrap=True)
    table.add_column("governed by", overflow="fold")
    for index, period in enumerate(schedule.periods):
        end_offset = _period_end(schedule, index)
        end = schedule.schedule_start + timedelta(seconds=end_offset)
        amps, watts = _both_units(period, unit, voltage=voltage, default_phases=default_phases)
        phases = Text(str(period.number_phases)) if period.number_phases else Text(f"({default_phases})", "dim")
        table.add_row(
            Text(format_timestamp(schedule.schedule_start + timedelta(seconds=period.start_period))),
            Text(format_offset(period.start_period)),
            Text(format_timestamp(end) if wide else format_offset(end_offset)),
            amps,
            watts,
            phases,
            Text(describe_governed_by(period.governed_by, "\n"), style=governing_color(period.governed_by)),
        )
    console.print(table)


def _table_caption(schedule: CompositeSchedule, voltage: float, default_phases: int) -> str:
    start, end = schedule.schedule_start, window_end(schedule)
    caption = (
        f"{format_timestamp(start)} → {format_timestamp(end)} · unit {schedule.charging_rate_unit.value} · "
        f"W = A × {voltage:g} V × phases"
    )
    if any(p.number_phases is None for p in schedule.periods):
        caption += f"; ({default_phases}) = default"
    return caption


def _both_units(
    period: CompositePeriod, unit: ChargingRateUnit, *, voltage: float, default_phases: int
) -> tuple[Text, Text]:
    """The A and W cells of a period: the computed unit as is, the other converted ("–" if not computable)."""
    if period.limit < 0:
        undefined, dash = Text(UNDEFINED, "yellow"), Text("–", "dim")
        return (undefined, dash) if unit is ChargingRateUnit.A else (dash, undefined)
    phases = period.number_phases or default_phases
    cells = []
    for target in (ChargingRateUnit.A, ChargingRateUnit.W):
        value = convert_limit(period.limit, unit, target, voltage=voltage, phases=phases)
        cells.append(Text("–", "dim") if value is None else Text(format_limit(value, target)))
    return cells[0], cells[1]


def _period_end(schedule: CompositeSchedule, index: int) -> int:
    periods = schedule.periods
    if index + 1 < len(periods):
        return periods[index + 1].start_period
    return max(schedule.duration, periods[index].start_period)
