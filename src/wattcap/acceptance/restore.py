"""Putting a live site back: what to clear and what to set again after the suite, from a snapshot taken before.

The suite never touches the profiles a station held before it started (it adds its own, under its own ids, and
clears them after each check), so a clean run restores by clearing what it added. The snapshot is the safety net
for an interrupted run (Ctrl-C, a crash between two checks): what the suite added goes, whatever wattcap wanted
before and no longer does (or wants differently) comes back. A profile that appeared meanwhile under an id the
suite did not set is somebody else's (the site-cap controller, an operator): it is named, never cleared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wattcap.core.lifecycle import DesiredStatus
from wattcap.store import DesiredProfile

#: Desired statuses of a profile the station may hold (or is about to): what a restore must look at.
_PRESENT = frozenset({DesiredStatus.PENDING, DesiredStatus.INSTALLED, DesiredStatus.NO_ANSWER})


@dataclass(frozen=True, slots=True)
class RestorePlan:
    clear: tuple[int, ...]  # profile ids the suite left behind
    reset: tuple[DesiredProfile, ...]  # profiles wanted before that are gone or changed
    skipped: tuple[str, ...] = ()  # what cannot be restored, and why
    foreign: tuple[int, ...] = ()  # new since the snapshot, not the suite's: left alone


def plan_restore(
    before: Sequence[DesiredProfile], after: Sequence[DesiredProfile], *, added: Iterable[int] = (),
    running_transactions: Iterable[str] = (),
) -> RestorePlan:
    """What to do so that the station's desired profiles are ``before`` again.

    ``added`` are the ids the suite set (cleared even if something else changed them meanwhile);
    ``running_transactions`` are the transactions still running: a TxProfile of an ended one cannot come back.
    """
    old = {d.profile_id: d for d in before if DesiredStatus(d.status) in _PRESENT}
    now = {d.profile_id: d for d in after}
    added = set(added)
    running = set(running_transactions)
    clear = sorted(pid for pid in now if pid in added)
    foreign = sorted(pid for pid, d in now.items() if pid not in old and pid not in added and _present(d))
    reset: list[DesiredProfile] = []
    skipped: list[str] = []
    for pid, d in old.items():
        current = now.get(pid)
        if current is not None and _present(current) and current.wire == d.wire and pid not in added:
            continue
        if d.transaction_id is not None and d.transaction_id not in running:
            skipped.append(f"profile {pid}: its transaction {d.transaction_id} ended, a TxProfile cannot return")
            continue
        reset.append(d)
    return RestorePlan(tuple(clear), tuple(reset), tuple(skipped), tuple(foreign))


def _present(desired: DesiredProfile) -> bool:
    return DesiredStatus(desired.status) in _PRESENT
