"""Composite schedules: what a charger will do, minute by minute, and which profile governs each minute."""

from wattcap.core.composite.engine import composite_schedule

__all__ = ["composite_schedule"]
