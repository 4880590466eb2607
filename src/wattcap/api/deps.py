"""Who is calling, and may they: bearer-token authentication and the grant checks every route goes through.

A route declares ``access: Authenticated`` (``Depends(authenticated)``) and asks :class:`Access` before it acts
(``access.read_station(id)``, ``access.write_profile(...)``): the decisions are :mod:`wattcap.core.governance`'s,
this module only resolves the site of a station and turns refusals into 403 answers that name the rule.

Routes of other parts of wattcap use the same dependencies, e.g. the site signals::

    @router.post("/sites/{site_id}/signals/site-limit")
    async def post_site_limit(site_id: str, signal: SiteLimitSignal,
                              access: Annotated[Access, Depends(require_signal("site_limit"))]): ...

and site topology routes ``Depends(require_site())`` (read) or ``Depends(require_site(write=True))``; both take the
``site_id`` path parameter. ``access.actor`` (``api:<client>``) is what goes into the audit log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from wattcap.api.errors import forbidden, unauthorized
from wattcap.core import governance as gov
from wattcap.core.governance import Grant, GrantError, Refusal, Signal, Target
from wattcap.core.lifecycle import PurposeBand
from wattcap.core.model import ChargingProfile
from wattcap.core.station import StationConfig

if TYPE_CHECKING:
    from wattcap.server.runtime import ControlPlane

bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", bearerFormat="wc_<id>_<secret>",
    description="A client token from `wattcap token create` (shown once). Send `Authorization: Bearer <token>`.",
)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated API client."""

    client: str
    grant: Grant
    token_id: str

    @property
    def actor(self) -> str:
        """How audit entries name this client."""
        return f"api:{self.client}"


def plane_of(connection: HTTPConnection) -> ControlPlane:
    return connection.app.state.plane


async def principal_for(plane: ControlPlane, token: str | None) -> Principal:
    """The client presenting ``token``; raises the 401 :class:`ApiError` otherwise."""
    if not token:
        raise unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    found = await plane.repository.authenticate_api_token(token)
    if found is None:
        raise unauthorized("unknown or revoked token")
    record, client = found
    try:
        grant = Grant.from_json(client.grant)
    except GrantError as exc:  # a grant edited by hand into something unreadable grants nothing
        raise forbidden([Refusal(gov.Rule.SCOPE, f"client {client.name}'s grant cannot be read: {exc}")]) from None
    return Principal(client.name, grant, record.id)


@dataclass(frozen=True, slots=True)
class Access:
    """The calling client and the control plane; every check raises the 403 when the grant does not allow it."""

    principal: Principal
    plane: ControlPlane

    @property
    def grant(self) -> Grant:
        return self.principal.grant

    @property
    def actor(self) -> str:
        return self.principal.actor

    def target(self, station_id: str | None, evse_id: int | None = None, site_id: str | None = None) -> Target:
        site = site_id if station_id is None else self.plane.sites.site_of(station_id)
        return Target(station_id, evse_id, site)

    @staticmethod
    def _enforce(refusals: list[Refusal]) -> None:
        if refusals:
            raise forbidden(refusals)

    def read_station(self, station_id: str, evse_id: int | None = None) -> None:
        self._enforce(gov.check_read(self.grant, self.target(station_id, evse_id)))

    def write_station(self, station_id: str, evse_id: int | None = None) -> None:
        self._enforce(gov.check_write(self.grant, self.target(station_id, evse_id)))

    def write_profile(
        self, station_id: str, evse_id: int, band: PurposeBand, profile: ChargingProfile | None,
        config: StationConfig | None = None,
    ) -> None:
        voltage, phases = (230.0, 3) if config is None else (config.supply_voltage_v, config.default_number_phases)
        self._enforce(gov.check_profile(
            self.grant, self.target(station_id, evse_id), band, profile, voltage_v=voltage, default_phases=phases
        ))

    def signal(self, signal: Signal | str, site_id: str) -> None:
        self._enforce(gov.check_signal(self.grant, signal, site_id))

    def site(self, site_id: str, *, write: bool = False) -> None:
        target = Target(site_id=site_id)
        self._enforce(gov.check_write(self.grant, target) if write else gov.check_read(self.grant, target))

    def sees(self, station_id: str) -> bool:
        return gov.sees(self.grant, station_id, self.plane.sites.site_of(station_id))

    def sees_evse(self, station_id: str, evse_id: int) -> bool:
        return not gov.check_read(self.grant, self.target(station_id, evse_id))

    def visible(self, station_ids: Iterable[str]) -> list[str]:
        return [s for s in station_ids if self.sees(s)]


async def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Access:
    """The dependency of every API route but ``/healthz`` and the OpenAPI pages."""
    plane = plane_of(request)
    return Access(await principal_for(plane, None if credentials is None else credentials.credentials), plane)


#: The parameter annotation of an authenticated route: ``access: Authenticated``.
Authenticated = Annotated[Access, Depends(authenticated)]


def require_signal(signal: Signal | str) -> Callable[..., Awaitable[Access]]:
    """A dependency for a route with a ``site_id`` path parameter that posts ``signal`` to that site:
    GOV-READONLY, GOV-SIGNAL and GOV-SCOPE (the site) are checked before the route runs."""
    kind = Signal(signal)

    async def dependency(site_id: str, access: Authenticated) -> Access:
        access.signal(kind, site_id)
        return access

    return dependency


def require_site(*, write: bool = False) -> Callable[..., Awaitable[Access]]:
    """A dependency for a route with a ``site_id`` path parameter that reads (or, ``write``, changes) the site."""

    async def dependency(site_id: str, access: Authenticated) -> Access:
        access.site(site_id, write=write)
        return access

    return dependency
