"""What a charging station holds: its installed charging profiles, as an immutable value.

The CSMS needs this twice over: to predict what a real charger holds after each SetChargingProfile,
RemoteStart, ClearChargingProfile and transaction end (so it can clear stale profiles by id, A12, and stay under
``MaxChargingProfilesInstalled``), and to be that charger in the simulator. Both follow the same
:class:`~wattcap.core.holdings_policy.InstallPolicy`, so the rules are written once.

Acceptance is not decided here: :mod:`wattcap.core.validation` judges a SetChargingProfile (K01.FR.06
duplicates, stack-level limits, capacity …); :meth:`ChargerHoldings.install` applies a profile that was accepted.
Clearing lives in :mod:`wattcap.core.holdings_clear`, reporting (GetChargingProfiles) in
:mod:`wattcap.core.holdings_report`. The wire JSON is the OCPP adapters' business: the persisted form (R16-13,
K01.FR.27) is in ``ocpp/holdings_json.py``, the request and report payloads in ``ocpp/profile_requests.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from wattcap.core.holdings_policy import (
    InstallPolicy,
    StackLevelScope,
    hidden_by_evse_tx_default,
    install_policy,
)
from wattcap.core.model import (
    ChargingLimitSource,
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingSchedule,
    InstalledProfile,
    OcppVersion,
)

_TX = ChargingProfilePurpose.TX
_TX_DEFAULT = ChargingProfilePurpose.TX_DEFAULT


@dataclass(frozen=True, slots=True)
class HeldProfile:
    """An installed profile and who installed it: ``source`` is what a ReportChargingProfiles carries (K09)."""

    evse_id: int
    profile: ChargingProfile
    source: str = ChargingLimitSource.CSO

    @property
    def installed(self) -> InstalledProfile:
        return InstalledProfile(self.evse_id, self.profile)


class ProtectedProfileError(ValueError):
    """The CSMS tried to replace a profile it may not touch (an ExternalConstraints profile, K01.FR.05)."""


def profile_has_expired(profile: ChargingProfile, now: datetime) -> bool:
    """Whether ``profile`` can never limit again after ``now`` (EVerest's ``clear_expired_profiles``).

    A profile is valid while ``now < validTo`` (K01.FR.37, R16-07), so it has expired at ``validTo``. An Absolute
    schedule executes nothing at or after ``startSchedule + duration`` (K01.FR.11, R16-09); the profile has
    expired once every one of its schedules has ended that way. Recurring schedules restart and never expire by
    duration; Relative ones are anchored by the charger and cannot be judged here.
    """
    if profile.valid_to is not None and profile.valid_to <= now:
        return True
    if profile.kind is not ChargingProfileKind.ABSOLUTE:
        return False
    return all((end := _absolute_end(s)) is not None and end <= now for s in profile.schedules)


def _absolute_end(schedule: ChargingSchedule) -> datetime | None:
    if schedule.start_schedule is None or schedule.duration is None:
        return None
    return schedule.start_schedule + timedelta(seconds=schedule.duration)


@dataclass(frozen=True, slots=True)
class ChargerHoldings:
    """The charging profiles a station holds, in installation order, under one install policy.

    Every operation returns a new value. Ids are unique in the holdings under every policy (both versions replace
    by id), and under a 1.6 policy so is (stackLevel, purpose) within the policy's scope.
    """

    policy: InstallPolicy
    entries: tuple[HeldProfile, ...] = ()

    @classmethod
    def empty(cls, policy: InstallPolicy | OcppVersion | str) -> ChargerHoldings:
        """No profiles, under ``policy`` (or the specification's policy of a version)."""
        return cls(_policy(policy))

    # ---- queries ---------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[HeldProfile]:
        return iter(self.entries)

    @property
    def installed(self) -> tuple[InstalledProfile, ...]:
        """All held profiles as the composite engine takes them (no copies of station-wide profiles)."""
        return tuple(e.installed for e in self.entries)

    def find(self, profile_id: int) -> HeldProfile | None:
        return next((e for e in self.entries if e.profile.id == profile_id), None)

    def count(self, *, purpose: ChargingProfilePurpose | None = None, evse_id: int | None = None) -> int:
        """How many profiles are installed (``MaxChargingProfilesInstalled``/``Entries[ChargingProfiles]``)."""
        return sum(
            1
            for e in self.entries
            if (purpose is None or e.profile.purpose == purpose) and (evse_id is None or e.evse_id == evse_id)
        )

    def count_by_purpose(self) -> Mapping[ChargingProfilePurpose, int]:
        return dict(Counter(e.profile.purpose for e in self.entries))

    def count_by_evse(self) -> Mapping[int, int]:
        return dict(Counter(e.evse_id for e in self.entries))

    def would_replace(self, evse_id: int, profile: ChargingProfile) -> tuple[HeldProfile, ...]:
        """The held profiles that installing ``profile`` on ``evse_id`` would remove.

        Same id always (R16-05, K01.FR.05); same (stackLevel, purpose) within the policy's scope only under 1.6
        (R16-05, A1). A 1.6 TxProfile from RemoteStartTransaction is therefore replaced by a SetChargingProfile for
        its transaction with the same stack level (S16 §5.16.2, E16 3.42).
        """
        scope = self.policy.stack_level_scope

        def replaced(e: HeldProfile) -> bool:
            if e.profile.id == profile.id:
                return True
            if scope is None or (e.profile.purpose, e.profile.stack_level) != (profile.purpose, profile.stack_level):
                return False
            return scope is StackLevelScope.PER_CHARGE_POINT or e.evse_id == evse_id

        return tuple(e for e in self.entries if replaced(e))

    def blocked_by(
        self, evse_id: int, profile: ChargingProfile, source: str = ChargingLimitSource.CSO
    ) -> tuple[HeldProfile, ...]:
        """The held profiles that forbid the install: ones the CSMS may not replace (K01.FR.05, ExternalConstraints).

        Only an install by the CSMS (source CSO) is blocked; the external actor updates its own profiles freely.
        """
        if source != ChargingLimitSource.CSO:
            return ()
        protected = self.policy.csms_protected_purposes
        return tuple(e for e in self.would_replace(evse_id, profile) if e.profile.purpose in protected)

    def count_after_install(self, evse_id: int, profile: ChargingProfile) -> int:
        """The number of installed profiles if ``profile`` were installed: the capacity check's left-hand side."""
        return len(self.entries) - len(self.would_replace(evse_id, profile)) + 1

    def applicable(self, evse_id: int, *, transaction_id: str | None) -> tuple[InstalledProfile, ...]:
        """The profiles that apply to ``evse_id`` (> 0) while ``transaction_id`` runs there (None: no transaction).

        Station-wide (evse 0) profiles apply to every EVSE: TxDefault on evse 0 "to each individual evse"
        (K01.FR.14, 1.6 §3.13.1), evse > 0 only to that EVSE (K01.FR.15). An EVSE-specific TxDefault hides the
        station-wide ones as the policy's :class:`TxDefaultShadowing` says (R16-06, A4). TxProfiles apply only to
        their transaction; one without a transactionId (a RemoteStart profile not yet bound, or a 1.6 profile
        set without one) applies to whatever runs on its EVSE. Profiles keep their own ``evse_id`` so attribution
        shows where they are installed; evse 0 itself gets only the station-wide profiles.
        """
        own = [e for e in self.entries if e.evse_id == evse_id]
        if evse_id == 0:
            return tuple(e.installed for e in own)
        own = [
            e
            for e in own
            if e.profile.purpose is not _TX or e.profile.transaction_id in (None, transaction_id)
        ]
        own_levels = frozenset(e.profile.stack_level for e in own if e.profile.purpose is _TX_DEFAULT)
        shadowing = self.policy.tx_default_shadowing
        station = [
            e
            for e in self.entries
            if e.evse_id == 0 and not hidden_by_evse_tx_default(e.profile, own_levels, shadowing)
        ]
        return tuple(e.installed for e in station + own)

    def expired(self, now: datetime) -> tuple[HeldProfile, ...]:
        return tuple(e for e in self.entries if profile_has_expired(e.profile, now))

    def tx_profiles_of(self, evse_id: int, transaction_id: str) -> tuple[HeldProfile, ...]:
        """The TxProfiles on ``evse_id`` that belong to ``transaction_id``.

        A TxProfile without a transactionId on that EVSE belongs to the transaction running there: a TxProfile can
        only be set during a transaction (R16-03, K01.FR.09) or bound at its start (RemoteStart).
        """
        return tuple(
            e
            for e in self.entries
            if e.evse_id == evse_id and e.profile.purpose is _TX and e.profile.transaction_id in (None, transaction_id)
        )

    # ---- transitions -----------------------------------------------------------------------------------------

    def install(
        self, evse_id: int, profile: ChargingProfile, source: str = ChargingLimitSource.CSO
    ) -> ChargerHoldings:
        """Apply an accepted SetChargingProfile (or an external limit, with its ``source``).

        Replaces what :meth:`would_replace` names and appends ``profile``. Raises :class:`ProtectedProfileError`
        when the CSMS would replace an ExternalConstraints profile (K01.FR.05): the validator should have
        rejected the request, and the holdings never silently hold two profiles with one id.
        """
        blockers = self.blocked_by(evse_id, profile, source)
        if blockers:
            ids = ", ".join(str(e.profile.id) for e in blockers)
            raise ProtectedProfileError(f"the CSMS cannot replace ChargingStationExternalConstraints profile(s) {ids}")
        gone = self.would_replace(evse_id, profile)
        kept = self.without(gone).entries
        return replace(self, entries=(*kept, HeldProfile(evse_id, profile, source)))

    def remote_start(self, evse_id: int, profile: ChargingProfile) -> ChargerHoldings:
        """Install the TxProfile of an accepted RemoteStartTransaction / RequestStartTransaction.

        It carries no transactionId (E16 3.41, K05); :meth:`bind_transaction` gives it the new transaction's id.
        """
        return self.install(evse_id, profile)

    def bind_transaction(self, evse_id: int, transaction_id: str) -> ChargerHoldings:
        """A transaction started on ``evse_id``: unbound TxProfiles there now belong to it (S16 §5.16.2).

        From then on a SetChargingProfile for that transaction with the same stack level replaces the RemoteStart
        profile under 1.6 (E16 3.42), and the profile is cleared when the transaction ends.
        """
        def bind(e: HeldProfile) -> HeldProfile:
            if e.evse_id == evse_id and e.profile.purpose is _TX and e.profile.transaction_id is None:
                return replace(e, profile=replace(e.profile, transaction_id=transaction_id))
            return e

        return replace(self, entries=tuple(bind(e) for e in self.entries))

    def end_transaction(self, evse_id: int, transaction_id: str) -> ChargerHoldings:
        """The transaction ended: its TxProfiles cease to be valid (S16 §7.10 "SHALL cease", K01 TxProfile).

        A station under a policy with ``deletes_ended_tx_profiles=False`` keeps them (1.6 only SHOULD delete, A12);
        bound ones then no longer apply (:meth:`applicable` matches the transaction id) but still count and clear.
        """
        if not self.policy.deletes_ended_tx_profiles:
            return self
        gone = self.tx_profiles_of(evse_id, transaction_id)
        return self.without(gone)

    def expire(self, now: datetime) -> ChargerHoldings:
        """Drop every profile that has expired at ``now`` (:func:`profile_has_expired`)."""
        return self.without(self.expired(now))

    def without(self, gone: tuple[HeldProfile, ...]) -> ChargerHoldings:
        """These holdings minus the given entries."""
        if not gone:
            return self
        return replace(self, entries=tuple(e for e in self.entries if e not in gone))


def _policy(policy: InstallPolicy | OcppVersion | str) -> InstallPolicy:
    return policy if isinstance(policy, InstallPolicy) else install_policy(policy)
