"""A simulated charging station: EVSEs, EVs, transactions, energy registers and the profiles it holds.

Pure and synchronous: every method takes ``now`` and returns the :mod:`events <wattcap.sim.events>` the station
wants to send; nothing here touches a network or a clock, so a whole depot day runs in a unit test.

What an EV draws is the minimum of

* the station's composite limit for its EVSE, computed by the core engine in the station's own dialect from what
  it holds (:class:`~wattcap.core.holdings.ChargerHoldings`, under the install policy of its OCPP version),
  shared with the other EVSEs when a station max applies (the station's job, A14),
* the EVSE's hardware,
* the EV's capability and its charging curve (:mod:`wattcap.sim.ev`),

after the personality has had its say (ignore the limit, round it, delay it, ramp towards it …). Between two
calls the station integrates energy in segments that end at every limit change, so the energy register agrees
with the limits the station enforced.

The station never asks which OCPP version it speaks: everything that differs is data chosen once at
construction (install policy, dialect, who assigns transaction ids).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from wattcap.core.composite import composite_schedule
from wattcap.core.dialects import StationAggregation
from wattcap.core.events import MeterSample
from wattcap.core.holdings import ChargerHoldings
from wattcap.core.holdings_clear import ClearChargingProfileRequest, ClearChargingProfileStatus, clear_charging_profiles
from wattcap.core.holdings_policy import install_policy
from wattcap.core.holdings_report import GetChargingProfilesRequest, ReportResult, get_charging_profiles
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    CompositeSchedule,
    InstalledProfile,
    RecurrencyKind,
    Transaction,
)
from wattcap.core.station import CurrentType, StationConfig
from wattcap.core.timeutil import from_epoch
from wattcap.ocpp.holdings_json import holdings_from_json, holdings_to_json
from wattcap.sim.acceptance import RequestContext, Verdict, judge_profile
from wattcap.sim.enforcement import NO_LIMIT, Limit, Offer, read_limit, share
from wattcap.sim.ev import (
    EV,
    MIN_AC_CURRENT_A,
    NO_DRAW,
    Draw,
    ac_draw,
    curve_fraction,
    dc_draw,
    requested_energy_transfer,
)
from wattcap.sim.events import (
    AuthorizeRequested,
    ChargingStateChanged,
    ConnectorStatusChanged,
    EVChargingNeedsNotified,
    EVChargingScheduleNotified,
    MeterValuesReceived,
    StationEvent,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.sim.personalities import CompositeAnswer
from wattcap.sim.spec import STATION_ASSIGNS_TRANSACTION_IDS, EvseSpec, StationSpec

_P = ChargingProfilePurpose
A, W = ChargingRateUnit.A, ChargingRateUnit.W

#: Longest integration segment: keeps the charging curve and ramps smooth between two calls.
MAX_SEGMENT_S = 60.0


class ConnectorStatus(StrEnum):
    """Connector states in OCPP 1.6 names (the 2.0.1 adapter maps them to Available / Occupied)."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"


class StopReason(StrEnum):
    """Why a transaction ended (names common to 1.6 ``Reason`` and 2.0.1 ``ReasonEnumType``)."""

    EV_DISCONNECTED = "EVDisconnected"
    LOCAL = "Local"
    REMOTE = "Remote"
    REBOOT = "Reboot"
    POWER_LOSS = "PowerLoss"


@dataclass(slots=True)
class SimTransaction:
    """A running transaction. ``key`` is the station's own name for it; ``transaction_id`` the one the control
    plane knows (the key itself when the station assigns ids, else set once StartTransaction.conf arrives)."""

    key: str
    transaction_id: str | None
    evse_id: int
    start: datetime
    id_token: str | None
    meter_start_wh: float
    remote_start_id: int | None = None
    # TxDefaultProfiles in force when it started (kept for tx-default-from-next-transaction personalities).
    tx_defaults: tuple[InstalledProfile, ...] = ()


@dataclass(slots=True)
class _Evse:
    spec: EvseSpec
    register_wh: float = 0.0
    ev: EV | None = None
    transaction: SimTransaction | None = None
    draw: Draw = NO_DRAW
    offer: Offer = field(default_factory=Offer)  # in the control unit
    limit_phases: int | None = None
    status: ConnectorStatus = ConnectorStatus.AVAILABLE
    charging_state: str | None = None


@dataclass(frozen=True, slots=True)
class EvseView:
    """A snapshot of one EVSE for callers and tests (power in W, current per phase in A, energy in Wh)."""

    evse_id: int
    status: ConnectorStatus
    ev: EV | None
    transaction: SimTransaction | None
    power_w: float
    current_a: float
    phases: int
    offered: float | None  # in the station's control unit; None while no session runs
    register_wh: float


@dataclass(frozen=True, slots=True)
class CompositeAnswerResult:
    """A GetCompositeSchedule answer: Accepted with a schedule, Accepted without one, or Rejected."""

    accepted: bool
    schedule: CompositeSchedule | None = None


_IDLE = (ConnectorStatus.AVAILABLE, ConnectorStatus.PREPARING)


class SimStation:
    """One simulated station. Not thread-safe; the shell calls it from one event loop."""

    def __init__(self, spec: StationSpec, now: datetime) -> None:
        self.spec = spec
        self.personality = spec.personality
        self.config = spec.engine_config()
        # Enforcement computes in full precision: float32 limits are how some chargers *report*, and a reported
        # 11.600000381 must not become a draw above an 11.6 A limit.
        self._enforcing = replace(self.config, dialect=replace(self.config.dialect, float32_limits=False))
        self._enforcing_station_max = replace(
            self._enforcing,
            dialect=replace(self._enforcing.dialect, station_aggregation=StationAggregation.STATION_CAPS_ONLY),
        )
        policy = install_policy(spec.ocpp_version)
        if self.personality.policy_overrides:
            policy = replace(policy, **self.personality.policy_overrides)
        self.holdings = ChargerHoldings.empty(policy)
        self.online = False
        self.boots = 0
        self._assigns_ids = STATION_ASSIGNS_TRANSACTION_IDS[spec.ocpp_version]
        self._evses: dict[int, _Evse] = {e.evse_id: _Evse(e) for e in spec.evses}
        self._t = now.timestamp()
        self._next_change = math.inf
        self._tx_counter = 0
        self._events: list[StationEvent] = []
        self._refresh(now)

    # ---- views ---------------------------------------------------------------------------------------------

    @property
    def station_id(self) -> str:
        return self.spec.station_id

    @property
    def evse_ids(self) -> tuple[int, ...]:
        return tuple(self._evses)

    def evse(self, evse_id: int) -> EvseView:
        e = self._evses[evse_id]
        return EvseView(
            evse_id=evse_id,
            status=e.status,
            ev=e.ev,
            transaction=e.transaction,
            power_w=e.draw.power_w,
            current_a=e.draw.current_a,
            phases=e.draw.phases,
            offered=e.offer.applied if e.transaction is not None else None,
            register_wh=e.register_wh,
        )

    def transactions(self) -> tuple[Transaction, ...]:
        """The running transactions as the core models them (for the engine and the acceptance rules)."""
        return tuple(
            Transaction(e.spec.evse_id, e.transaction.transaction_id, e.transaction.start)
            for e in self._evses.values()
            if e.transaction is not None
        )

    def find_transaction(self, transaction_id: str) -> SimTransaction | None:
        running = (e.transaction for e in self._evses.values() if e.transaction is not None)
        return next((t for t in running if t.transaction_id == transaction_id), None)

    # ---- time ----------------------------------------------------------------------------------------------

    def advance(self, now: datetime) -> list[StationEvent]:
        """Run the station up to ``now``: energy, charging curves, limit changes, expiries, departures."""
        self._run_until(now.timestamp())
        return self._drain()

    def _run_until(self, until: float) -> None:
        while self._t < until - 1e-9:
            end = min(until, self._t + MAX_SEGMENT_S, self._next_change)
            end = max(end, self._t + 1e-6)
            self._integrate(end - self._t)
            self._t = end
            at = from_epoch(end)
            self._departures(at)
            self._refresh(at)

    def _integrate(self, seconds: float) -> None:
        for e in self._evses.values():
            if e.draw.power_w > 0.0 and e.ev is not None:
                energy = e.draw.power_w * seconds / 3600.0
                e.register_wh += energy
                e.ev = e.ev.charged(energy)

    def _departures(self, at: datetime) -> None:
        for e in self._evses.values():
            if e.ev is not None and e.ev.departure is not None and e.ev.departure <= at:
                self._unplug(e, at)

    # ---- EVs and transactions ------------------------------------------------------------------------------

    def plug_in(self, evse_id: int, ev: EV, now: datetime, *, id_token: str | None = None) -> list[StationEvent]:
        """An EV arrives. With a token (``id_token`` or the EV's own) the station authorizes it and, once
        accepted, starts charging; offline it starts at once (local authorization)."""
        self._run_until(now.timestamp())
        e = self._evses[evse_id]
        if e.ev is not None:
            raise ValueError(f"EVSE {evse_id} of {self.station_id} already has an EV")
        e.ev = ev
        token = id_token or ev.id_token
        if token is not None:
            if self.online:
                self._emit(AuthorizeRequested(self.station_id, now, evse_id, token))
            else:
                self._start(e, now, token)
        self._refresh(now)
        return self._drain()

    def authorization_result(self, evse_id: int, id_token: str, accepted: bool, now: datetime) -> list[StationEvent]:
        """The control plane answered an :class:`AuthorizeRequested`."""
        self._run_until(now.timestamp())
        e = self._evses[evse_id]
        if accepted and e.ev is not None and e.transaction is None:
            self._start(e, now, id_token)
        self._refresh(now)
        return self._drain()

    def unplug(self, evse_id: int, now: datetime) -> list[StationEvent]:
        """The EV leaves (ending its transaction)."""
        self._run_until(now.timestamp())
        self._unplug(self._evses[evse_id], now)
        self._refresh(now)
        return self._drain()

    def stop_transaction(
        self, evse_id: int, now: datetime, reason: StopReason = StopReason.LOCAL
    ) -> list[StationEvent]:
        """End the transaction on ``evse_id`` with the EV still plugged in."""
        self._run_until(now.timestamp())
        e = self._evses[evse_id]
        if e.transaction is not None:
            self._end(e, now, reason)
        self._refresh(now)
        return self._drain()

    def remote_start(
        self,
        evse_id: int | None,
        id_token: str,
        now: datetime,
        *,
        profile: ChargingProfile | None = None,
        remote_start_id: int | None = None,
    ) -> tuple[bool, list[StationEvent]]:
        """RemoteStartTransaction / RequestStartTransaction: start on an EVSE with an EV plugged in and no
        transaction (the first such EVSE when none is named), installing the TxProfile that came with it."""
        self._run_until(now.timestamp())
        e = self._remote_start_evse(evse_id)
        if e is None:
            return False, self._drain()
        if profile is not None:
            verdict = self._judge(e.spec.evse_id, profile, RequestContext.REMOTE_START, now)
            if not verdict.accepted:
                return False, self._drain()
            self.holdings = self.holdings.remote_start(e.spec.evse_id, self._as_held(profile))
        self._start(e, now, id_token, remote_start_id=remote_start_id)
        self._refresh(now)
        return True, self._drain()

    def _remote_start_evse(self, evse_id: int | None) -> _Evse | None:
        if evse_id is not None:
            e = self._evses.get(evse_id)
            return e if e is not None and e.ev is not None and e.transaction is None else None
        return next((e for e in self._evses.values() if e.ev is not None and e.transaction is None), None)

    def remote_stop(self, transaction_id: str, now: datetime) -> tuple[bool, list[StationEvent]]:
        """RemoteStopTransaction / RequestStopTransaction for the transaction the control plane calls so."""
        self._run_until(now.timestamp())
        for e in self._evses.values():
            if e.transaction is not None and e.transaction.transaction_id == transaction_id:
                self._end(e, now, StopReason.REMOTE)
                self._refresh(now)
                return True, self._drain()
        return False, self._drain()

    def transaction_id_assigned(self, key: str, transaction_id: str, now: datetime) -> list[StationEvent]:
        """The control plane named transaction ``key`` (1.6 StartTransaction.conf)."""
        self._run_until(now.timestamp())
        for e in self._evses.values():
            if e.transaction is not None and e.transaction.key == key:
                e.transaction.transaction_id = transaction_id
                self.holdings = self.holdings.bind_transaction(e.spec.evse_id, transaction_id)
        self._refresh(now)
        return self._drain()

    def _start(self, e: _Evse, now: datetime, id_token: str | None, *, remote_start_id: int | None = None) -> None:
        self._tx_counter += 1
        key = f"{self.boots:03d}{self._tx_counter:06d}"
        tx_defaults = tuple(i for i in self.holdings.installed if i.profile.purpose is _P.TX_DEFAULT)
        tx = SimTransaction(
            key=key,
            transaction_id=key if self._assigns_ids else None,
            evse_id=e.spec.evse_id,
            start=now,
            id_token=id_token,
            meter_start_wh=e.register_wh,
            remote_start_id=remote_start_id,
            tx_defaults=tx_defaults,
        )
        e.transaction = tx
        e.offer.reset()
        if tx.transaction_id is not None:
            self.holdings = self.holdings.bind_transaction(e.spec.evse_id, tx.transaction_id)
        self._emit(
            TransactionStarted(
                self.station_id,
                now,
                evse_id=e.spec.evse_id,
                transaction_id=key,
                id_token=id_token,
                meter_start_wh=e.register_wh,
                remote_start_id=remote_start_id,
            )
        )
        if e.ev is not None and e.ev.spec.iso15118:
            self._emit(self._charging_needs(e, now))

    def _charging_needs(self, e: _Evse, now: datetime) -> EVChargingNeedsNotified:
        ev = e.ev
        assert ev is not None
        ac = self.spec.current_type is CurrentType.AC
        return EVChargingNeedsNotified(
            self.station_id,
            now,
            evse_id=e.spec.evse_id,
            requested_energy_transfer=requested_energy_transfer(ev, self.spec.current_type, self.spec.phases),
            departure_time=ev.departure,
            energy_amount_wh=round(ev.energy_needed_wh),
            ev_max_current_a=ev.spec.ac_max_current_a if ac else ev.spec.dc_max_power_w / ev.spec.dc_voltage_v,
            ev_max_power_w=None if ac else ev.spec.dc_max_power_w,
        )

    def _end(self, e: _Evse, now: datetime, reason: StopReason) -> None:
        tx = e.transaction
        assert tx is not None
        self.holdings = self.holdings.end_transaction(e.spec.evse_id, tx.transaction_id or "")
        e.transaction = None
        e.draw = NO_DRAW
        e.offer.reset()
        e.charging_state = None
        self._emit(
            TransactionEnded(
                self.station_id,
                now,
                evse_id=e.spec.evse_id,
                transaction_id=tx.key,
                meter_stop_wh=e.register_wh,
                reason=reason.value,
            )
        )

    def _unplug(self, e: _Evse, at: datetime) -> None:
        if e.transaction is not None:
            self._end(e, at, StopReason.EV_DISCONNECTED)
        e.ev = None

    # ---- smart charging ------------------------------------------------------------------------------------

    def set_charging_profile(
        self, evse_id: int, profile: ChargingProfile, now: datetime
    ) -> tuple[Verdict, list[StationEvent]]:
        """SetChargingProfile: accept or reject, install if accepted, and apply from ``now``."""
        self._run_until(now.timestamp())
        verdict = self._judge(evse_id, profile, RequestContext.SET_CHARGING_PROFILE, now)
        if verdict.accepted:
            self.holdings = self.holdings.install(evse_id, self._as_held(profile))
            self._refresh(now)
            e = self._evses.get(evse_id)
            if (
                profile.purpose is ChargingProfilePurpose.TX and e is not None and e.ev is not None
                and e.ev.spec.iso15118 and e.transaction is not None
            ):
                self._emit(self._ev_schedule(e, now))
        return verdict, self._drain()

    def _ev_schedule(self, e: _Evse, now: datetime) -> EVChargingScheduleNotified:
        """K15.FR.09/10: the EV's charging profile after a new TxProfile, as the station forwards it. A
        compliant EV plans within the composite (the next 24 h); one that ``plans_above_limit`` plans its maximum."""
        ev = e.ev
        assert ev is not None
        horizon = 24 * 3600
        ac = self.spec.current_type is CurrentType.AC
        if ev.spec.plans_above_limit:
            unit = A if ac else W
            value = ev.spec.ac_max_current_a if ac else ev.spec.dc_max_power_w
            periods: tuple[ChargingSchedulePeriod, ...] = (ChargingSchedulePeriod(0, limit=float(value)),)
        else:
            composite = composite_schedule(
                self.config, self.holdings.installed, evse_id=e.spec.evse_id, start=now, duration=horizon,
                unit=None, transactions=self.transactions(), simulate_transaction=True,
            )
            unit = composite.charging_rate_unit
            periods = tuple(ChargingSchedulePeriod(p.start_period, limit=p.limit, number_phases=p.number_phases)
                            for p in composite.periods)
        schedule = ChargingSchedule(unit, periods, id=1, start_schedule=now, duration=horizon)
        return EVChargingScheduleNotified(self.station_id, now, e.spec.evse_id, time_base=now, schedule=schedule)

    def clear_charging_profile(
        self, request: ClearChargingProfileRequest, now: datetime
    ) -> tuple[ClearChargingProfileStatus, list[StationEvent]]:
        self._run_until(now.timestamp())
        result = clear_charging_profiles(self.holdings, request)
        self.holdings = result.holdings
        self._refresh(now)
        return result.status, self._drain()

    def charging_profiles(self, request: GetChargingProfilesRequest) -> ReportResult:
        """GetChargingProfiles: what it holds, grouped for ReportChargingProfiles."""
        return get_charging_profiles(self.holdings, request)

    def composite_answer(
        self, evse_id: int, duration: int, unit: ChargingRateUnit | None, now: datetime
    ) -> CompositeAnswerResult:
        """GetCompositeSchedule as this station answers it (its dialect, and its personality's habits)."""
        self._run_until(now.timestamp())
        answer = self.personality.composite_answer
        if answer is CompositeAnswer.REJECTED or not self.config.has_evse(evse_id):
            return CompositeAnswerResult(False)
        if answer is CompositeAnswer.EMPTY:
            return CompositeAnswerResult(True)
        if answer is CompositeAnswer.OTHER_UNIT:
            asked = unit or self.config.capabilities.rate_units[0]
            unit = W if asked is A else A
        schedule = composite_schedule(
            self.config,
            self.holdings.installed,
            evse_id=evse_id,
            start=now,
            duration=duration,
            unit=unit,
            transactions=self.transactions(),
            simulate_transaction=True,
            offline=not self.online,
        )
        return CompositeAnswerResult(True, schedule)

    def _judge(self, evse_id: int, profile: ChargingProfile, context: RequestContext, now: datetime) -> Verdict:
        evse = self._evses.get(evse_id)
        return judge_profile(
            station=self.config,
            personality=self.personality,
            holdings=self.holdings,
            transactions=self.transactions(),
            evse_id=evse_id,
            profile=profile,
            context=context,
            now=now,
            iso15118=evse is not None and evse.ev is not None and evse.ev.spec.iso15118,
        )

    def _as_held(self, profile: ChargingProfile) -> ChargingProfile:
        """The profile as this charger stores it (a recurrence-from-midnight charger re-anchors daily ones)."""
        if not (
            self.personality.recurrence_from_midnight
            and profile.kind is ChargingProfileKind.RECURRING
            and profile.recurrency_kind is RecurrencyKind.DAILY
        ):
            return profile
        schedules = tuple(
            replace(s, start_schedule=s.start_schedule.replace(hour=0, minute=0, second=0, microsecond=0))
            if s.start_schedule is not None
            else s
            for s in profile.schedules
        )
        return replace(profile, schedules=schedules)

    # ---- link and power ------------------------------------------------------------------------------------

    def set_online(self, online: bool, now: datetime) -> list[StationEvent]:
        """The link to the control plane came up or went down. What the station holds stays in force."""
        self._run_until(now.timestamp())
        if online and not self.online and self.personality.drops_tx_profiles_on_reconnect:
            dropped = tuple(h for h in self.holdings if h.profile.purpose is _P.TX)
            self.holdings = self.holdings.without(dropped)
        self.online = online
        self._refresh(now)
        return self._drain()

    def reboot(self, now: datetime) -> list[StationEvent]:
        """A reset or power cycle: transactions end, EVs stay plugged, the profiles survive because they were
        persisted (round-tripped through their stored JSON form, R16-13, K01.FR.27)."""
        self._run_until(now.timestamp())
        for e in self._evses.values():
            if e.transaction is not None:
                self._end(e, now, StopReason.REBOOT)
        policy = self.holdings.policy
        self.holdings = holdings_from_json(holdings_to_json(self.holdings), policy)
        self.boots += 1
        self._tx_counter = 0
        self._refresh(now)
        return self._drain()

    def statuses(self, now: datetime) -> list[StationEvent]:
        """The current status of every connector (sent after boot and after a reconnect)."""
        return [
            ConnectorStatusChanged(self.station_id, now, evse_id=i, connector_id=1, status=e.status.value)
            for i, e in self._evses.items()
        ]

    # ---- meter values --------------------------------------------------------------------------------------

    def meter_values(self, now: datetime) -> list[StationEvent]:
        """One sample set per running transaction: energy register, power, current per phase, offer, SoC."""
        self._run_until(now.timestamp())
        out: list[StationEvent] = [
            MeterValuesReceived(self.station_id, now, e.spec.evse_id, e.transaction.key, self._samples(e, now))
            for e in self._evses.values()
            if e.transaction is not None
        ]
        return self._drain() + out

    def _samples(self, e: _Evse, now: datetime) -> tuple[MeterSample, ...]:
        ctx = "Sample.Periodic"
        draw = e.draw
        samples = [
            MeterSample(now, "Energy.Active.Import.Register", round(e.register_wh, 1), "Wh", context=ctx),
            MeterSample(now, "Power.Active.Import", round(draw.power_w, 1), "W", context=ctx),
        ]
        if self.spec.current_type is CurrentType.AC:
            for n in range(1, self.spec.phases + 1):
                current = draw.current_a if n <= draw.phases else 0.0
                samples.append(MeterSample(now, "Current.Import", round(current, 2), "A", phase=f"L{n}", context=ctx))
            offered = e.offer.applied if e.offer.applied is not None else 0.0
            samples.append(MeterSample(now, "Current.Offered", round(offered, 2), "A", context=ctx))
        else:
            samples.append(MeterSample(now, "Current.Import", round(draw.current_a, 2), "A", context=ctx))
            offered = e.offer.applied if e.offer.applied is not None else 0.0
            samples.append(MeterSample(now, "Power.Offered", round(offered, 1), "W", context=ctx))
            if e.ev is not None:
                samples.append(MeterSample(now, "SoC", round(e.ev.soc * 100, 1), "Percent", context=ctx))
        return tuple(samples)

    # ---- enforcement ---------------------------------------------------------------------------------------

    def _refresh(self, at: datetime) -> None:
        """Re-evaluate limits and draws at ``at`` (expiries, profile periods, sharing, personality, EV)."""
        t = at.timestamp()
        expired = self.holdings.expired(at)
        if expired:
            self.holdings = self.holdings.without(expired)
        sessions = [e for e in self._evses.values() if e.transaction is not None and e.ev is not None]
        next_change = math.inf
        targets: dict[int, float] = {}
        for e in sessions:
            limit = self._evse_limit(e, at)
            next_change = min(next_change, limit.next_change)
            e.limit_phases = limit.phases
            hardware = self.spec.hardware_limit(e.spec)
            targets[e.spec.evse_id] = hardware if limit.value is None else min(hardware, limit.value)
        if self.personality.shares_station_max and len(sessions) > 1:
            cap = self._station_cap(at)
            next_change = min(next_change, cap.next_change)
            if cap.value is not None:
                demands = {i: min(v, self._wish(self._evses[i])) for i, v in targets.items()}
                targets = share(cap.value, demands, targets)
        delay, rate = self.personality.limit_delay_s, self.personality.ramp_per_s
        if rate is not None and self.spec.current_type is CurrentType.DC:
            rate *= 1000.0  # the personality states A/s; on DC it is kW/s
        for e in sessions:
            target = self._personal_target(e, targets[e.spec.evse_id])
            next_change = min(next_change, e.offer.follow(target, t, delay_s=delay, rate_per_s=rate))
            e.draw = self._draw(e)
        for e in self._evses.values():
            if e.transaction is None:
                e.draw = NO_DRAW
            self._update_status(e, at)
        self._next_change = next_change

    def _installed_for(self, e: _Evse) -> tuple[InstalledProfile, ...]:
        installed = self.holdings.installed
        tx = e.transaction
        if self.personality.tx_default_from_next_transaction and tx is not None:
            others = tuple(i for i in installed if i.profile.purpose is not _P.TX_DEFAULT)
            return others + tx.tx_defaults
        return installed

    def _evse_limit(self, e: _Evse, at: datetime) -> Limit:
        if self.personality.ignores_profiles:
            return NO_LIMIT
        tx = e.transaction
        assert tx is not None
        transactions = (Transaction(e.spec.evse_id, tx.transaction_id, tx.start),)
        return self._limit(self._enforcing, self._installed_for(e), e.spec.evse_id, at, transactions, e)

    def _station_cap(self, at: datetime) -> Limit:
        if self.personality.ignores_profiles:
            return NO_LIMIT
        maxima = tuple(i for i in self.holdings.installed if i.profile.purpose is _P.CHARGING_STATION_MAX)
        if not maxima:
            return NO_LIMIT
        return self._limit(self._enforcing_station_max, maxima, 0, at, (), None)

    def _limit(
        self,
        config: StationConfig,
        installed: tuple[InstalledProfile, ...],
        evse_id: int,
        at: datetime,
        transactions: tuple[Transaction, ...],
        e: _Evse | None,
    ) -> Limit:
        return read_limit(
            config,
            installed,
            evse_id=evse_id,
            at=at,
            horizon_s=int(MAX_SEGMENT_S) + 1,
            transactions=transactions,
            online=self.online,
            control_unit=self.spec.control_unit,
            convert=lambda limit, unit, phases: self._convert(limit, unit, phases, e),
        )

    def _convert(self, limit: float, unit: ChargingRateUnit, phases: int | None, e: _Evse | None) -> float:
        """A limit in the other unit, in the control unit (for dialects that keep A and W apart)."""
        voltage = self.spec.voltage_v
        if unit is W:  # AC station, W limit -> A per phase over the phases in use
            in_use = e.draw.phases if e is not None and e.draw.phases else (phases or self.spec.phases)
            return limit / (voltage * in_use)
        return limit * voltage  # DC station, A limit -> W

    def _wish(self, e: _Evse) -> float:
        """The offer the EV can use, in the control unit (on AC at least the 6 A below which it cannot charge)."""
        ev = e.ev
        if ev is None or ev.full:
            return 0.0
        if self.spec.current_type is CurrentType.AC:
            return max(MIN_AC_CURRENT_A, ev.spec.ac_max_current_a * curve_fraction(ev.spec, ev.soc))
        return ev.spec.dc_max_power_w * curve_fraction(ev.spec, ev.soc)

    def _personal_target(self, e: _Evse, target: float) -> float:
        if self.personality.ignores_profiles:
            return self.spec.hardware_limit(e.spec)
        if self.personality.whole_amps and self.spec.current_type is CurrentType.AC:
            return float(math.floor(target + 0.5))
        return target

    def _draw(self, e: _Evse) -> Draw:
        ev = e.ev
        if ev is None or e.offer.applied is None:
            return NO_DRAW
        if self.spec.current_type is CurrentType.DC:
            return dc_draw(ev, e.offer.applied)
        phases = self.spec.phases
        if (
            e.limit_phases is not None
            and self.config.capabilities.phase_switching_3to1
            and not self.personality.ignores_number_phases
        ):
            phases = min(phases, e.limit_phases)
        return ac_draw(ev, e.offer.applied, phases, self.spec.voltage_v)

    def _update_status(self, e: _Evse, at: datetime) -> None:
        state: str | None = None
        if e.transaction is not None:
            if e.draw.charging:
                status, state = ConnectorStatus.CHARGING, "Charging"
            elif e.ev is not None and e.ev.full:
                status, state = ConnectorStatus.SUSPENDED_EV, "SuspendedEV"
            else:
                status, state = ConnectorStatus.SUSPENDED_EVSE, "SuspendedEVSE"
        elif e.ev is not None:
            # Plugged without a transaction: Finishing right after one ended, Preparing before one starts.
            status = ConnectorStatus.PREPARING if e.status in _IDLE else ConnectorStatus.FINISHING
        else:
            status = ConnectorStatus.AVAILABLE
        if status is not e.status:
            e.status = status
            self._emit(ConnectorStatusChanged(self.station_id, at, e.spec.evse_id, 1, status.value))
        if state is not None and state != e.charging_state and e.transaction is not None:
            self._emit(ChargingStateChanged(self.station_id, at, e.spec.evse_id, e.transaction.key, state))
        e.charging_state = state

    # ---- plumbing ------------------------------------------------------------------------------------------

    def _emit(self, event: StationEvent) -> None:
        self._events.append(event)

    def _drain(self) -> list[StationEvent]:
        events, self._events = self._events, []
        return events
