"""The stacking preview: what a profile change would do, computed the way the lifecycle would do it, sending nothing.

A dry run takes the same decisions as :meth:`ProfileService.set_profile` / :meth:`~ProfileService.update_profile`
— the band's purpose, the id and stack level :func:`allocate` picks, the validator's findings for the station's
version, capabilities and dialect — from the same :class:`StationContext`, and then asks the composite engine for
each EVSE the profile shapes: *before* over what the charger should hold now, *after* with the candidate
installed as it would be once accepted. Nothing is stored, audited or sent. The preview matches the applied change
as long as nothing else changes on the station in between (another write, a transaction starting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from wattcap.core.composite import composite_schedule
from wattcap.core.lifecycle import AllocationError, BandTable, DesiredStatus, allocate, prepare_profile
from wattcap.core.model import ChargingProfile, ChargingRateUnit, CompositeSchedule, InstalledProfile, OcppVersion
from wattcap.core.validation import Finding, RequestContext, has_errors
from wattcap.ocpp.validation import validate_profile
from wattcap.server.profile_context import StationContext
from wattcap.server.profile_verify import CompositeVerifier


@dataclass(frozen=True, slots=True)
class EvsePreview:
    evse_id: int
    before: CompositeSchedule
    after: CompositeSchedule


@dataclass(frozen=True, slots=True)
class Preview:
    """A dry run's outcome. ``refusal`` is why the lifecycle would refuse before validating (unknown band, wrong
    purpose, no free id or stack level); ``findings`` are the validator's. ``profile`` is the candidate as it
    would be sent (id and stack level assigned), None when no slot was free."""

    station_id: str
    version: OcppVersion
    evse_id: int
    band: str
    profile: ChargingProfile | None
    findings: tuple[Finding, ...]
    refusal: str | None
    composites: tuple[EvsePreview, ...]

    @property
    def allowed(self) -> bool:
        return self.refusal is None and not has_errors(self.findings)


class ProfilePreview:
    def __init__(self, bands: BandTable, clock: Callable[[], datetime]) -> None:
        self.bands = bands
        self.clock = clock

    def composite(
        self, ctx: StationContext, evse_id: int, *, start: datetime, duration: int,
        unit: ChargingRateUnit | None = None, installed: tuple[InstalledProfile, ...] | None = None,
    ) -> CompositeSchedule:
        """The engine's composite for ``evse_id`` (0: the station) over what the charger should hold (or
        ``installed``), with the per-purpose layers."""
        return composite_schedule(
            ctx.config, ctx.expected_installed() if installed is None else installed, evse_id=evse_id, start=start,
            duration=duration, unit=unit or CompositeVerifier.unit(ctx, None), transactions=ctx.transactions,
            with_layers=True,
        )

    def set(
        self, ctx: StationContext, evse_id: int, profile: ChargingProfile, *, band: str, start: datetime,
        duration: int, unit: ChargingRateUnit | None = None,
    ) -> Preview:
        """What :meth:`ProfileService.set_profile` would do with ``profile`` in ``band`` on ``evse_id``."""
        try:
            purpose = self.bands[band].purpose
        except KeyError as exc:
            return self._refused(ctx, evse_id, band, str(exc.args[0]))
        if profile.purpose is not purpose:
            return self._refused(ctx, evse_id, band, f"band {band} holds {purpose.value} profiles, not "
                                                     f"{profile.purpose.value}")
        try:
            slot = allocate(
                self.bands, band, evse_id, occupants=ctx.occupants(), policy=ctx.policy,
                max_stack_level=ctx.config.capabilities.max_stack_level,
            )
        except AllocationError as exc:
            return self._refused(ctx, evse_id, band, str(exc))
        prepared = prepare_profile(profile, profile_id=slot.profile_id, stack_level=slot.stack_level, purpose=purpose)
        return self._judged(ctx, evse_id, band, prepared, start, duration, unit)

    def update(
        self, ctx: StationContext, profile_id: int, profile: ChargingProfile, *, start: datetime, duration: int,
        unit: ChargingRateUnit | None = None,
    ) -> Preview:
        """What :meth:`ProfileService.update_profile` would do: same id, stack level, purpose and EVSE."""
        current = ctx.find(profile_id)
        if current is None or not DesiredStatus(current.status).present:
            return self._refused(ctx, 0, "", f"station {ctx.station_id} has no desired profile {profile_id} to update")
        old = ctx.profiles[profile_id]
        if profile.purpose is not old.purpose:
            return self._refused(ctx, current.evse_id, current.owner,
                                 f"profile {profile_id} is a {old.purpose.value}; an update keeps the purpose")
        prepared = prepare_profile(profile, profile_id=profile_id, stack_level=old.stack_level, purpose=old.purpose)
        return self._judged(ctx, current.evse_id, current.owner, prepared, start, duration, unit)

    def _judged(
        self, ctx: StationContext, evse_id: int, band: str, prepared: ChargingProfile, start: datetime,
        duration: int, unit: ChargingRateUnit | None,
    ) -> Preview:
        findings = validate_profile(
            prepared, ctx.version, evse_id=evse_id, station=ctx.config, installed=ctx.occupants(),
            transactions=ctx.transactions, context=RequestContext.SET_CHARGING_PROFILE, now=self.clock(),
        )
        before = ctx.expected_installed()
        after = (*(i for i in before if i.profile.id != prepared.id), InstalledProfile(evse_id, prepared))
        chosen = unit or CompositeVerifier.unit(ctx, prepared.schedule.charging_rate_unit)
        composites = tuple(
            EvsePreview(
                e,
                self.composite(ctx, e, start=start, duration=duration, unit=chosen, installed=before),
                self.composite(ctx, e, start=start, duration=duration, unit=chosen, installed=after),
            )
            for e in ctx.evses_of(evse_id) if e in ctx.config.evse_ids  # an unknown EVSE is a finding, not a composite
        )
        return Preview(ctx.station_id, ctx.version, evse_id, band, prepared, tuple(findings), None, composites)

    @staticmethod
    def _refused(ctx: StationContext, evse_id: int, band: str, why: str) -> Preview:
        return Preview(ctx.station_id, ctx.version, evse_id, band, None, (), why, ())
