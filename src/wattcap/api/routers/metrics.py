"""``/metrics``: the Prometheus exposition, behind a bearer token like everything else (Prometheus sends one with
``authorization: {credentials: <token>}`` in its scrape config)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from wattcap.api.deps import Authenticated
from wattcap.api.errors import ERRORS

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, responses={**ERRORS, 200: {"content": {"text/plain": {}}}},
            summary="Prometheus metrics")
async def metrics(access: Authenticated) -> Response:
    body, content_type = access.plane.metrics.render()
    return Response(body, media_type=content_type)
