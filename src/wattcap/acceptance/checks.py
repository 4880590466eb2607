"""The six acceptance checks and their verdicts: the vocabulary the suite, the simulator catalogue and the reports
share.

The check names are the acceptance-test families of the simulator's vendor catalogue
(:mod:`wattcap.sim.personalities`): a personality names the checks it is expected to fail, so this module has no
dependencies at all, and the simulator can import it without pulling in the control plane.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class AcceptanceTest(StrEnum):
    """One acceptance check (the value is its display name; :attr:`slug` is its command-line name)."""

    SITE_CAP = "site cap"  # the EVSEs draw more than the limits allow
    SCOPE = "scope"  # a profile applies to the wrong EVSE, transaction or time span
    STACK_RESOLUTION = "stack resolution"  # stack levels are refused or resolved differently
    BOUNDARIES_RECURRENCE = "boundaries/recurrence"  # kinds, validity, recurrence and period boundaries
    VENDOR_VARIANCE = "vendor variance"  # what the charger reports differs from what it does or should say
    FALLBACK = "fallback"  # behaviour without the control plane (offline, reconnect)

    @property
    def slug(self) -> str:
        return _SLUGS[self]

    @property
    def number(self) -> int:
        """Its number in the issue and the docs (1: site cap … 6: fallback)."""
        return list(AcceptanceTest).index(self) + 1


_SLUGS = {
    AcceptanceTest.SITE_CAP: "site-cap",
    AcceptanceTest.SCOPE: "scope",
    AcceptanceTest.STACK_RESOLUTION: "stack",
    AcceptanceTest.BOUNDARIES_RECURRENCE: "boundaries",
    AcceptanceTest.VENDOR_VARIANCE: "variance",
    AcceptanceTest.FALLBACK: "fallback",
}

ALL_CHECKS: tuple[AcceptanceTest, ...] = tuple(AcceptanceTest)


class CheckVerdict(StrEnum):
    """How one check ended on one station.

    ``unsupported``: the charger refused a feature the check needs (a purpose, a kind, a unit, a stack level, a
    0 limit, GetCompositeSchedule). ``inconclusive``: nothing could be observed that decides it (no EV charging,
    no meter values, a limit that never bound, a step masked by a profile someone else holds).
    """

    PASS = "pass"
    FAIL = "fail"
    UNSUPPORTED = "unsupported"
    INCONCLUSIVE = "inconclusive"

    @property
    def failed(self) -> bool:
        """Whether the charger is not ready for what the check tests (fail or unsupported)."""
        return self in (CheckVerdict.FAIL, CheckVerdict.UNSUPPORTED)


# Which verdict of several decides: a failure above all, then a refusal, then a lack of evidence.
_PRECEDENCE = (CheckVerdict.FAIL, CheckVerdict.UNSUPPORTED, CheckVerdict.INCONCLUSIVE, CheckVerdict.PASS)


def worst(verdicts: Iterable[CheckVerdict]) -> CheckVerdict:
    """The verdict of several findings: fail, else unsupported, else inconclusive, else pass."""
    found = set(verdicts)
    return next((v for v in _PRECEDENCE if v in found), CheckVerdict.PASS)


def parse_checks(names: Iterable[str]) -> tuple[AcceptanceTest, ...]:
    """Checks named by slug (``site-cap``), display name (``site cap``) or number (``1``), in suite order."""
    wanted: set[AcceptanceTest] = set()
    for raw in names:
        for name in (n.strip().lower() for n in raw.split(",")):
            if not name:
                continue
            found = next(
                (c for c in ALL_CHECKS if name in (c.slug, c.value, str(c.number), c.name.lower())), None
            )
            if found is None:
                known = ", ".join(c.slug for c in ALL_CHECKS)
                raise ValueError(f"unknown check {name!r}; known: {known}")
            wanted.add(found)
    return tuple(c for c in ALL_CHECKS if c in wanted)
