"""Terminal presentation of a composite schedule: a period table and a step chart with its stacked layers.

Both renderers are pure functions of the schedule and the console width, so a test can render into
``Console(record=True, width=100)`` and read the text back. Numbers are for people here (one decimal for amps,
whole watts); the exact wire values are what ``--format json`` is for.

Colours mean the same in the table, the chart and the ``--plot`` file (:data:`PURPOSE_COLORS`): a limit is
coloured by the purpose of the profile that sets it, grey where the station's local limit applies.

This module only gathers the public names: the shared wording and colours live in
:mod:`wattcap.cli.render_common`, the table in :mod:`wattcap.cli.render_table`, the chart in
:mod:`wattcap.cli.render_chart`.
"""

from __future__ import annotations

from wattcap.cli.render_chart import chart_lines, render_chart
from wattcap.cli.render_common import (
    LOCAL_LIMIT,
    LOCAL_LIMIT_COLOR,
    PURPOSE_ABBREVIATIONS,
    PURPOSE_COLORS,
    SEVERAL_PURPOSES_COLOR,
    UNDEFINED,
    convert_limit,
    describe_governed_by,
    evse_label,
    format_limit,
    format_offset,
    format_ref,
    governing_color,
)
from wattcap.cli.render_table import WIDE_TABLE, render_table

__all__ = [
    "LOCAL_LIMIT",
    "LOCAL_LIMIT_COLOR",
    "PURPOSE_ABBREVIATIONS",
    "PURPOSE_COLORS",
    "SEVERAL_PURPOSES_COLOR",
    "UNDEFINED",
    "WIDE_TABLE",
    "chart_lines",
    "convert_limit",
    "describe_governed_by",
    "evse_label",
    "format_limit",
    "format_offset",
    "format_ref",
    "governing_color",
    "render_chart",
    "render_table",
]
