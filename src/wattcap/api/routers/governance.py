"""Who may set which limit: the calling client (``/me``) and the whole governance configuration (``/governance``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from wattcap.api.deps import Authenticated
from wattcap.api.errors import ERRORS
from wattcap.core import governance as gov
from wattcap.core.governance import Grant, GrantError

router = APIRouter(tags=["governance"])


class GrantOut(BaseModel):
    """What a client may do (``*`` in sites or stations: all of them)."""

    sites: list[str]
    stations: list[str]
    evses: list[str] = Field(description="Single EVSEs as STATION/EVSE.")
    purposes: list[str]
    bands: list[str]
    max_a: float | None
    max_w: float | None
    signals: list[str]
    read_only: bool


def grant_out(grant: Grant) -> GrantOut:
    return GrantOut(**grant.to_json())


class MeOut(BaseModel):
    client: str
    actor: str = Field(description="How the audit log names this client.")
    token_id: str
    grant: GrantOut


@router.get("/me", response_model=MeOut, responses=ERRORS, summary="The calling client and its grant")
async def me(access: Authenticated) -> MeOut:
    p = access.principal
    return MeOut(client=p.client, actor=p.actor, token_id=p.token_id, grant=grant_out(p.grant))


class BandOut(BaseModel):
    name: str
    purpose: str
    stack_level_low: int
    stack_level_high: int
    owner: str = Field(description="wattcap (its own allocation) or operator (a person's override).")
    first_id: int
    last_id: int


class PrecedenceOut(BaseModel):
    purpose: str
    bands: list[str] = Field(description="The band that prevails first.")


class RuleOut(BaseModel):
    id: str
    description: str


class ClientOut(BaseModel):
    name: str
    description: str | None
    grant: GrantOut | None = Field(description="None when the stored grant cannot be read (it then grants nothing).")
    active_tokens: int
    created_at: datetime | None


class GovernanceOut(BaseModel):
    bands: list[BandOut]
    precedence: list[PrecedenceOut]
    combination: str
    rules: list[RuleOut]
    signals: list[str]
    sources: list[str] = Field(description="Where a limit in force can come from.")
    clients: list[ClientOut]
    clients_hidden: int = Field(description="Clients not listed: only a client scoped to every station sees all.")


@router.get(
    "/governance", response_model=GovernanceOut, responses=ERRORS,
    summary="Bands and their stacking order, the governance rules, and the clients with their grants",
)
async def governance(access: Authenticated) -> GovernanceOut:
    bands = access.plane.bands
    clients = await access.plane.repository.list_api_clients()
    tokens = await access.plane.repository.list_api_tokens(include_revoked=False)
    shown = clients if access.grant.everywhere else [c for c in clients if c.name == access.principal.client]
    listed = []
    for client in shown:
        try:
            grant: GrantOut | None = grant_out(Grant.from_json(client.grant))
        except GrantError:
            grant = None
        listed.append(ClientOut(
            name=client.name, description=client.description, grant=grant, created_at=client.created_at,
            active_tokens=sum(1 for t in tokens if t.client == client.name),
        ))
    return GovernanceOut(
        bands=[BandOut(name=b.name, purpose=b.purpose.value, stack_level_low=b.low, stack_level_high=b.high,
                       owner=b.owner, first_id=b.first_id, last_id=b.last_id) for b in bands],
        precedence=[PrecedenceOut(purpose=p.purpose.value, bands=[b.name for b in p.bands])
                    for p in gov.precedence(bands)],
        combination=gov.COMBINATION,
        rules=[RuleOut(id=rule.value, description=text) for rule, text in gov.RULE_DESCRIPTIONS.items()],
        signals=[s.value for s in gov.Signal],
        sources=[s.value for s in gov.LimitSource],
        clients=listed,
        clients_hidden=len(clients) - len(shown),
    )
