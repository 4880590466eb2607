"""Wording and colours shared by the composite table, the chart and the ``--plot`` file.

Colours mean the same everywhere (:data:`PURPOSE_COLORS`): a limit is coloured by the purpose of the profile
that sets it, grey where the station's local limit applies. Numbers are for people (one decimal for amps,
whole watts); the exact wire values are what ``--format json`` is for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType

from wattcap.core.model import ChargingProfilePurpose, ChargingRateUnit, CompositeSchedule, ProfileRef

_P = ChargingProfilePurpose

PURPOSE_COLORS: Mapping[ChargingProfilePurpose, str] = MappingProxyType(
    {
        _P.CHARGING_STATION_MAX: "#d62728",
        _P.TX_DEFAULT: "#1f77b4",
        _P.TX: "#2ca02c",
        _P.CHARGING_STATION_EXTERNAL_CONSTRAINTS: "#9467bd",
        _P.PRIORITY_CHARGING: "#ff7f0e",
        _P.LOCAL_GENERATION: "#bcbd22",
    }
)
"""One colour per purpose (hex, so Rich and matplotlib share it)."""

LOCAL_LIMIT_COLOR = "#7f7f7f"
"""Where no profile limits and the station's local (default) limit applies."""

SEVERAL_PURPOSES_COLOR = "#17becf"
"""A period set by profiles of different purposes (a station-wide sum over EVSEs)."""

PURPOSE_ABBREVIATIONS: Mapping[ChargingProfilePurpose, str] = MappingProxyType(
    {
        _P.CHARGING_STATION_MAX: "Max",
        _P.TX_DEFAULT: "TxDef",
        _P.TX: "Tx",
        _P.CHARGING_STATION_EXTERNAL_CONSTRAINTS: "Ext",
        _P.PRIORITY_CHARGING: "Prio",
        _P.LOCAL_GENERATION: "LocGen",
    }
)
"""Short purpose names for the chart's lane labels, which share the narrow y-axis margin."""

UNDEFINED = "undefined"
LOCAL_LIMIT = "local limit"


def format_ref(ref: ProfileRef) -> str:
    """``#301 TxDefaultProfile L5 @evse 1``: the profile a user would look up, and where it is installed."""
    return f"#{ref.profile_id} {ref.purpose.value} L{ref.stack_level} @evse {ref.evse_id}"


def describe_governed_by(refs: Sequence[ProfileRef], sep: str = ", ") -> str:
    """Who sets a period's limit; ``local limit`` when no profile does (the station default applies).

    A station-wide sum names a station-wide profile once per EVSE it limits; it is listed once, with ``×n``.
    """
    if not refs:
        return LOCAL_LIMIT
    counts = Counter(refs)
    return sep.join(format_ref(ref) + (f" ×{counts[ref]}" if counts[ref] > 1 else "") for ref in counts)


def governing_color(refs: Sequence[ProfileRef]) -> str:
    """The colour of a period: its governing purpose, grey for the local limit, cyan for a mix of purposes."""
    purposes = {ref.purpose for ref in refs}
    if not purposes:
        return LOCAL_LIMIT_COLOR
    if len(purposes) > 1:
        return SEVERAL_PURPOSES_COLOR
    return PURPOSE_COLORS.get(purposes.pop(), SEVERAL_PURPOSES_COLOR)


def format_offset(seconds: int) -> str:
    """``+01:30:00``; hours run past 24 so offsets in a multi-day window stay comparable."""
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}:{secs:02d}"


def format_limit(value: float | None, unit: ChargingRateUnit) -> str:
    """One decimal for amps, whole watts; a negative limit (-1, MicroOcpp's "no limit defined") is undefined."""
    if value is None or value < 0:
        return UNDEFINED
    return f"{value:.1f}" if unit is ChargingRateUnit.A else f"{value:.0f}"


def convert_limit(
    value: float, unit: ChargingRateUnit, to: ChargingRateUnit, *, voltage: float, phases: int
) -> float | None:
    """``value`` in unit ``to`` with W = A × voltage × phases; None where that cannot be computed."""
    if unit is to:
        return value
    factor = voltage * phases
    if factor <= 0:
        return None
    return value * factor if to is ChargingRateUnit.W else value / factor


def evse_label(evse_id: int) -> str:
    return "station (evse 0)" if evse_id == 0 else f"evse {evse_id}"


def window_end(schedule: CompositeSchedule) -> datetime:
    """The end of the schedule's window (its start when the duration is not positive)."""
    return schedule.schedule_start + timedelta(seconds=max(schedule.duration, 0))
