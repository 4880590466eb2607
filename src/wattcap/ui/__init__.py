"""The web UI: static ES modules, CSS and one HTML page served at ``/ui/`` by the control plane's own app.

No build step and nothing fetched from elsewhere: the browser loads ``static/`` as it is (hand-written SVG
charts, one module per page or component) and talks to the HTTP API and the live stream with the operator's
token, which it keeps in ``sessionStorage``. ``/`` redirects to ``/ui/``. See ``docs/ui.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
UI_PREFIX = "/ui"

#: Everything from this origin only: no inline script, no third-party host; the stream is a WebSocket to it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


class UiFiles(StaticFiles):
    """The UI's files with a content security policy, and revalidated on every load (a new wattcap ships new
    modules under the same names)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Any:
        response = super().file_response(*args, **kwargs)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-cache"
        return response


def install_ui(app: FastAPI) -> None:
    """Serve the UI at ``/ui/`` on ``app`` and redirect ``/`` there."""

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{UI_PREFIX}/", status_code=307)

    app.mount(UI_PREFIX, UiFiles(directory=STATIC, html=True), name="ui")


__all__ = ["STATIC", "UI_PREFIX", "install_ui"]
