"""Drift repair: from what wattcap wants and what a charger holds, the few requests that make them agree.

Chargers forget profiles (a factory reset, a firmware update, a flash that wore out, A21), keep ones they should
have dropped (a 1.6 TxProfile after its transaction only SHOULD go, A12), or hold an older version. The planner
compares and proposes, and never does more than needed:

* a profile wattcap wants and the charger holds in another version is **updated by its id** (K01.FR.05,
  R16-05), never cleared and set again: clearing first would leave the charger unlimited in between and costs a
  second flash write (A21);
* a profile wattcap wants and the charger lacks is **set**;
* a profile the charger holds under one of wattcap's ids that wattcap no longer wants is **cleared by id**
  (A25 "clear by id whenever possible"); profiles under anybody else's ids, and external constraints, are never
  touched (K10.FR.06);
* a TxProfile without a transactionId exists only inside a remote start (E16 3.41, K05): it is never re-sent by
  SetChargingProfile, and never cleared while wattcap wants it.

When the charger cannot list what it holds (OCPP 1.6 has no GetChargingProfiles), ``held`` is None: the shell
compares composites instead and names the EVSEs that ``drifted``; their profiles are re-sent, as are those
never confirmed. Order: updates (no capacity change), then clears (free capacity and stack levels, A12), then sets.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from wattcap.core.holdings import HeldProfile
from wattcap.core.model import ChargingLimitSource, ChargingProfile, ChargingProfilePurpose


class DesiredStatus(StrEnum):
    """Where a desired profile stands with its charger (stored with it)."""

    PENDING = "pending"  # wanted; not yet accepted by the charger
    INSTALLED = "installed"  # the charger accepted it
    NO_ANSWER = "no_answer"  # sent, but the charger did not answer: re-sent by the next reconcile
    REJECTED = "rejected"  # the charger refused it: not re-sent until someone changes it
    UNSUPPORTED = "unsupported"  # the charger cannot do it at all
    CLEARING = "clearing"  # wattcap wants it gone; the clear is not confirmed yet

    @property
    def present(self) -> bool:
        return self is not DesiredStatus.CLEARING

    @property
    def confirmed(self) -> bool:
        return self is DesiredStatus.INSTALLED

    @property
    def plannable(self) -> bool:
        """Whether reconciling should act on it: a refusal is final until the profile changes."""
        return self not in (DesiredStatus.REJECTED, DesiredStatus.UNSUPPORTED)


@dataclass(frozen=True, slots=True)
class Desired:
    """A profile wattcap wants on ``evse_id`` (``present``) or wants gone (a clear not yet confirmed)."""

    evse_id: int
    profile: ChargingProfile
    present: bool = True
    confirmed: bool = False

    @classmethod
    def from_status(cls, evse_id: int, profile: ChargingProfile, status: DesiredStatus | str) -> Desired | None:
        """The planner's view of a stored desired profile; None when its status says to leave it alone."""
        status = DesiredStatus(status)
        if not status.plannable:
            return None
        return cls(evse_id, profile, present=status.present, confirmed=status.confirmed)

    @property
    def remote_start_only(self) -> bool:
        return self.profile.purpose is ChargingProfilePurpose.TX and self.profile.transaction_id is None


class ActionKind(StrEnum):
    SET = "set"  # SetChargingProfile with an id the charger does not hold
    UPDATE = "update"  # SetChargingProfile with an id the charger holds: replaces it (K01.FR.05, R16-05)
    CLEAR = "clear"  # ClearChargingProfile by id


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    evse_id: int
    profile_id: int
    profile: ChargingProfile | None  # None for CLEAR
    reason: str


def same_profile(wanted: ChargingProfile, held: ChargingProfile) -> bool:
    """Whether the charger holds ``wanted`` as wattcap sent it.

    A remote-start TxProfile gets its transactionId from the charger when the transaction starts (S16 §5.16.2),
    so a held transactionId where wattcap has none is not a difference. ``extra`` fields never compare.
    """
    if wanted.transaction_id is None:
        held = replace(held, transaction_id=None)
    return wanted == held


def plan_reconcile(
    desired: Sequence[Desired],
    held: Sequence[HeldProfile] | None,
    *,
    owns: Callable[[int], bool] | None = None,
    drifted: Collection[int] = (),
) -> list[Action]:
    """The requests that bring a charger from ``held`` to ``desired``.

    ``owns(profile_id)`` says which ids are wattcap's (its bands): only those are cleared when unwanted; without
    it only profiles wattcap explicitly wants gone are. ``held`` None means the charger cannot say what it holds
    (1.6); then ``drifted`` names the EVSEs whose composite disagreed, and a drift on any EVSE also re-sends the
    station-wide (evse 0) profiles, which shape every EVSE's composite.
    """
    updates: list[Action] = []
    clears: list[Action] = []
    sets: list[Action] = []
    by_id = {} if held is None else {h.profile.id: h for h in held}
    wanted_ids = {d.profile.id for d in desired}
    drifted = frozenset(drifted)
    for d in desired:
        pid = d.profile.id
        if not d.present:
            if held is None or pid in by_id:
                clears.append(Action(ActionKind.CLEAR, d.evse_id, pid, None, "wattcap no longer wants it"))
            continue
        if d.remote_start_only:
            continue
        if held is None:
            if not d.confirmed:
                sets.append(Action(ActionKind.SET, d.evse_id, pid, d.profile, "the charger never confirmed it"))
            elif d.evse_id in drifted or (d.evse_id == 0 and drifted):
                reason = "the composite schedule differs from the expected one"
                updates.append(Action(ActionKind.UPDATE, d.evse_id, pid, d.profile, reason))
            continue
        found = by_id.get(pid)
        if found is None:
            sets.append(Action(ActionKind.SET, d.evse_id, pid, d.profile, "the charger does not hold it"))
        elif found.evse_id != d.evse_id or not same_profile(d.profile, found.profile):
            reason = "the charger holds another version of it"
            updates.append(Action(ActionKind.UPDATE, d.evse_id, pid, d.profile, reason))
    for h in held or ():
        pid = h.profile.id
        if pid not in wanted_ids and owns is not None and owns(pid) and h.source == ChargingLimitSource.CSO:
            clears.append(Action(ActionKind.CLEAR, h.evse_id, pid, None, "stale: a wattcap id nobody wants"))
    return updates + clears + sets
