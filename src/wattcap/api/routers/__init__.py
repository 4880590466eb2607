"""The API's routers, one small module per resource; :data:`ROUTERS` are mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from wattcap.api.routers import composite, governance, history, meter, profiles, stations, topology, transactions

#: Mounted under ``/api/v1`` in this order. Other parts of wattcap add theirs with ``ControlPlane.add_router``.
ROUTERS: tuple[APIRouter, ...] = (
    governance.router,
    stations.router,
    transactions.router,
    meter.router,
    profiles.router,
    composite.router,
    history.router,
    topology.router,
)
