"""The terminal table and chart of a composite schedule, read back as text from a recording console."""

from __future__ import annotations

import pytest
from rich.console import Console

from wattcap.cli.render import (
    WIDE_TABLE,
    chart_lines,
    describe_governed_by,
    format_limit,
    format_offset,
    format_ref,
    render_chart,
    render_table,
)
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
MAX = ProfileRef(1, P.CHARGING_STATION_MAX, 0, 0)
TX_DEFAULT = ProfileRef(301, P.TX_DEFAULT, 5, 0)
TX = ProfileRef(7, P.TX, 1, 2)
START = utc(2026, 11, 25, 6)


def depot_evse2(tx_layer_unit: ChargingRateUnit = A) -> CompositeSchedule:
    """EVSE 2 over a day: fleet TxProfile 10 A for 1 h, then TxDefault 16 A / 32 A, local limit, undefined."""
    tx_limit = 10.0 if tx_layer_unit is A else 6900.0
    return CompositeSchedule(
        evse_id=2,
        schedule_start=START,
        duration=86_400,
        charging_rate_unit=A,
        periods=(
            CompositePeriod(0, 10.0, 3, stack_level=1, governed_by=(TX,)),
            CompositePeriod(3_600, 16.0, 3, stack_level=5, governed_by=(TX_DEFAULT,)),
            CompositePeriod(46_800, 32.0, None, stack_level=5, governed_by=(TX_DEFAULT,)),
            CompositePeriod(72_000, 48.0, 3),
            CompositePeriod(80_000, -1.0, None),
        ),
        layers=(
            CompositeLayer(P.CHARGING_STATION_MAX, 0, (LayerPeriod(0, 63.0, A, 3, MAX),)),
            CompositeLayer(
                P.TX_DEFAULT,
                0,
                (
                    LayerPeriod(0, 32.0, A, 3, TX_DEFAULT),
                    LayerPeriod(3_600, 16.0, A, 3, TX_DEFAULT),
                    LayerPeriod(46_800, 32.0, A, 3, TX_DEFAULT),
                    LayerPeriod(72_000, None, None, None, None),
                ),
            ),
            CompositeLayer(
                P.TX, 2, (LayerPeriod(0, tx_limit, tx_layer_unit, 3, TX), LayerPeriod(3_600, None, None, None, None))
            ),
        ),
    )


def one_period(duration: int, limit: float = 33_120.0, unit: ChargingRateUnit = W) -> CompositeSchedule:
    return CompositeSchedule(0, START, duration, unit, (CompositePeriod(0, limit, 3, governed_by=(MAX,)),))


def table_text(schedule: CompositeSchedule, width: int = 100, **kwargs) -> str:
    console = Console(record=True, width=width)
    render_table(console, schedule, voltage=230.0, default_phases=3, **kwargs)
    return console.export_text()


def chart_text(schedule: CompositeSchedule, width: int = 100, **kwargs) -> str:
    console = Console(record=True, width=width)
    render_chart(console, schedule, **kwargs)
    return console.export_text()


def row_starting(text: str, start: str) -> str:
    (row,) = [line for line in text.splitlines() if line.startswith(start)]
    return row


# ---------------------------------------------------------------------------------------------------------
# wording


def test_a_reference_names_id_purpose_level_and_evse():
    assert format_ref(TX_DEFAULT) == "#301 TxDefaultProfile L5 @evse 0"
    assert describe_governed_by(()) == "local limit"
    assert describe_governed_by((MAX, TX), " + ") == "#1 ChargingStationMaxProfile L0 @evse 0 + #7 TxProfile L1 @evse 2"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "+00:00:00"), (5_400, "+01:30:00"), (86_399, "+23:59:59"), (90_000, "+25:00:00")]
)
def test_offsets_count_hours_past_a_day(seconds, text):
    assert format_offset(seconds) == text


def test_limits_have_one_decimal_in_amps_whole_watts_and_negative_is_undefined():
    assert format_limit(8.695652, A) == "8.7"
    assert format_limit(16, A) == "16.0"
    assert format_limit(33_120.4, W) == "33120"
    assert format_limit(-1.0, A) == "undefined"
    assert format_limit(None, W) == "undefined"


# ---------------------------------------------------------------------------------------------------------
# table


def test_table_shows_every_period_in_both_units_with_its_governor():
    text = table_text(depot_evse2())
    first = row_starting(text, "2026-11-25T06:00:00Z")
    assert "+00:00:00" in first and "10.0" in first and "6900" in first and "#7 TxProfile L1 @evse 2" in first
    day = row_starting(text, "2026-11-25T07:00:00Z")
    assert "16.0" in day and "11040" in day and "#301 TxDefaultProfile L5 @evse 0" in day
    night = row_starting(text, "2026-11-25T19:00:00Z")
    assert "+13:00:00" in night and "32.0" in night and "22080" in night and "(3)" in night
    gap = row_starting(text, "2026-11-26T02:00:00Z")
    assert "48.0" in gap and "33120" in gap and "local limit" in gap
    undefined = row_starting(text, "2026-11-26T04:13:20Z")
    assert "undefined" in undefined and "local limit" in undefined
    assert "Composite schedule · evse 2" in text


def test_table_of_a_watt_schedule_derives_amps_from_the_period_phases():
    schedule = CompositeSchedule(
        1, START, 7_200, W, (CompositePeriod(0, 11_000.0, 1, governed_by=(TX,)), CompositePeriod(3_600, 11_000.0))
    )
    text = table_text(schedule)
    assert "47.8" in row_starting(text, "2026-11-25T06:00:00Z")  # 11000 / (230 × 1)
    assert "15.9" in row_starting(text, "2026-11-25T07:00:00Z")  # 11000 / (230 × 3 by default)


def test_table_end_column_is_a_timestamp_on_a_wide_console_and_an_offset_otherwise():
    wide = table_text(depot_evse2(), width=WIDE_TABLE)
    assert "2026-11-25T07:00:00Z" in row_starting(wide, "2026-11-25T06:00:00Z")
    narrow = table_text(depot_evse2(), width=WIDE_TABLE - 1)
    first = row_starting(narrow, "2026-11-25T06:00:00Z")
    assert "+01:00:00" in first and "2026-11-25T07:00:00Z" not in first


def test_table_lists_every_profile_of_a_summed_period_and_uses_the_given_title():
    schedule = CompositeSchedule(0, START, 60, A, (CompositePeriod(0, 96.0, 3, governed_by=(TX_DEFAULT, TX)),))
    text = table_text(schedule, title="depot · station")
    assert "#301 TxDefaultProfile L5 @evse 0" in text and "#7 TxProfile L1 @evse 2" in text
    assert "depot · station" in text


def test_table_is_deterministic_for_a_width():
    assert table_text(depot_evse2()) == table_text(depot_evse2())


# ---------------------------------------------------------------------------------------------------------
# chart


def test_chart_labels_every_limit_the_hours_and_each_layer():
    text = chart_text(depot_evse2(), voltage=230.0)
    for label in ("10.0┤", "16.0┤", "32.0┤", "48.0┤", "0.0┤", "[A]"):
        assert label in text
    for hour in ("06:00", "08:00", "12:00", "18:00", "00:00"):
        assert hour in text
    for lane in ("Max@0", "TxDef@0", "Tx@2"):
        assert lane in text
    for key in ("ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile", "local limit", "undefined"):
        assert key in text
    assert "evse 2" in text and "2026-11-25T06:00:00Z" in text
    assert all(len(line) <= 100 for line in text.splitlines())


def test_chart_steps_line_up_in_time_with_the_layer_that_causes_them():
    lines = chart_text(depot_evse2(), voltage=230.0).splitlines()
    row_16 = next(line for line in lines if "16.0┤" in line)
    row_32 = next(line for line in lines if "32.0┤" in line)
    tx_lane = next(line for line in lines if line.lstrip().startswith("Tx@2"))
    tx_default_lane = next(line for line in lines if line.lstrip().startswith("TxDef@0"))
    # The TxProfile layer ends where the composite steps up to the TxDefault's 16 A ...
    assert row_16.index("┏") == tx_lane.index("·")
    # ... and the TxDefault layer rises where the composite goes to 32 A.
    assert row_32.index("┏") == tx_default_lane.index("▅", tx_default_lane.index("▃"))


def test_chart_lane_of_another_unit_is_converted_with_a_voltage_and_on_its_own_scale_without():
    converted = chart_text(depot_evse2(tx_layer_unit=W), voltage=230.0)
    lane = next(line for line in converted.splitlines() if line.lstrip().startswith("Tx@2"))
    assert "▂" in lane  # 6900 W = 10 A, low on the 0 … 63 A scale
    assert "own scale" not in converted
    raw = chart_text(depot_evse2(tx_layer_unit=W))
    lane = next(line for line in raw.splitlines() if line.lstrip().startswith("Tx@2"))
    assert "█" in lane
    assert "Tx@2 on its own scale (W)" in raw


@pytest.mark.parametrize("duration", [0, 1])
def test_chart_of_a_zero_or_one_second_window(duration):
    text = chart_text(one_period(duration))
    assert "33120┤" in text and "[W]" in text
    assert "06:00:00" in text
    assert ("06:00:01" in text) is (duration == 1)
    assert "━" in text


def test_chart_of_a_single_period_draws_one_flat_line():
    text = chart_text(one_period(3_600, limit=16.0, unit=A), height=5)
    rows = [line for line in text.splitlines() if "┤" in line or "│" in line]
    assert len(rows) == 5
    drawn = [line for line in rows if "━" in line]
    assert len(drawn) == 1 and drawn[0].startswith("16.0┤━")
    assert not any(char in text for char in "┏┓┗┛")


def test_chart_takes_its_width_from_the_console_or_the_argument():
    narrow = chart_text(depot_evse2(), width=60)
    assert max(len(line) for line in narrow.splitlines()) == 60
    explicit = Console(record=True, width=100)
    render_chart(explicit, depot_evse2(), width=45)
    assert max(len(line) for line in explicit.export_text().splitlines()) <= 45


def test_chart_survives_tiny_sizes_and_no_periods():
    assert chart_lines(depot_evse2(), width=5, height=1)
    empty = CompositeSchedule(1, START, 60, A, ())
    assert "(no periods)" in chart_text(empty)


def test_chart_is_deterministic_for_a_width():
    assert chart_text(depot_evse2(), width=80) == chart_text(depot_evse2(), width=80)


def test_a_profile_counted_once_per_evse_in_a_sum_is_listed_once_with_its_count():
    refs = (TX_DEFAULT, TX, TX_DEFAULT, TX_DEFAULT)
    assert describe_governed_by(refs) == "#301 TxDefaultProfile L5 @evse 0 ×3, #7 TxProfile L1 @evse 2"
