"""Limits on the wire: at most one fraction digit, truncated, free of float artefacts.

OCPP 1.6 schemas say ``multipleOf 0.1``; 2.0.1 keeps "accepts at most one digit fraction" in the text. A
float like 21.399999999999995 (what 21.4 becomes after arithmetic) must go out as 21.4, and a computed 8.6956
as 8.6 (truncated, so a sent limit is never above what was computed: A20).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

_ARTEFACT = Decimal("1e-9")


def wire_decimal(value: float | Decimal, digits: int = 1) -> Decimal:
    """``value`` truncated toward zero to ``digits`` fraction digits, after removing float noise."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    cleaned = exact.quantize(_ARTEFACT, rounding=ROUND_HALF_EVEN)
    return cleaned.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN)


def wire_limit(value: float | Decimal, digits: int = 1) -> float:
    """The float whose shortest text has at most ``digits`` fraction digits (JSON-safe for 1.6 multipleOf)."""
    return float(wire_decimal(value, digits))


def fraction_digits(value: float | Decimal) -> int:
    """How many fraction digits ``value`` needs (its shortest decimal text)."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    exponent = exact.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
