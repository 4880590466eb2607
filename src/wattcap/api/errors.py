"""One error shape for every refusal of the HTTP API, and the handlers that produce it.

Every error answers ``{"error": {...}}`` (:class:`ErrorBody`): the HTTP status, a stable ``code``, a message for a
person, and what the client needs to fix the request — the governance rules that refused it (``refusals``, 403)
or the findings with JSON paths and requirement ids (``findings``, 422). FastAPI's own validation errors and
Starlette's 404/405 are rewritten into the same shape, so a client parses one thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from wattcap.core.governance import Refusal

#: The rule id of a request that does not fit the API's schema (the schema is the rule; ``type`` says which part).
SCHEMA_RULE = "WC-API-SCHEMA"


class RefusalOut(BaseModel):
    rule: str = Field(description="The governance rule that refused, e.g. GOV-BAND.")
    message: str


class FindingOut(BaseModel):
    """One problem with the request. ``path`` is where it sits in the request (``body.profile.chargingSchedule[0]
    .chargingSchedulePeriod[1].limit``); ``rule_id`` the requirement (``K01.FR.31``, ``R16-09``, ``WC-…``)."""

    path: str
    rule_id: str
    severity: str = "error"
    message: str
    type: str | None = Field(None, description="For schema errors: the kind of error (missing, less_than_equal …).")
    reason_code: str | None = Field(None, description="What a 2.0.1 charger would put in statusInfo.reasonCode.")
    response: str | None = Field(None, description="What a charger would answer: Rejected or a CALLERROR.")


class ErrorOut(BaseModel):
    status: int
    code: str = Field(description="unauthorized, forbidden, not_found, validation, conflict, method_not_allowed …")
    message: str
    rule: str | None = Field(None, description="The first rule that refused (403) or failed (422).")
    refusals: list[RefusalOut] = Field(default_factory=list)
    findings: list[FindingOut] = Field(default_factory=list)


class ErrorBody(BaseModel):
    error: ErrorOut


class ApiError(Exception):
    """Raised by the routes; rendered as :class:`ErrorBody`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        refusals: Sequence[Refusal] = (),
        findings: Sequence[FindingOut] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.refusals = tuple(refusals)
        self.findings = tuple(findings)
        self.headers = headers

    def body(self) -> ErrorBody:
        rule = self.refusals[0].rule.value if self.refusals else (self.findings[0].rule_id if self.findings else None)
        return ErrorBody(error=ErrorOut(
            status=self.status, code=self.code, message=self.message, rule=rule,
            refusals=[RefusalOut(rule=r.rule.value, message=r.message) for r in self.refusals],
            findings=list(self.findings),
        ))


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="wattcap"'})


def forbidden(refusals: Sequence[Refusal]) -> ApiError:
    return ApiError(403, "forbidden", "; ".join(str(r) for r in refusals), refusals=refusals)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def invalid(findings: Sequence[FindingOut], message: str | None = None) -> ApiError:
    errors = [f for f in findings if f.severity == "error"] or list(findings)
    shown = message or "; ".join(f"{f.rule_id} at {f.path}: {f.message}" for f in errors[:3])
    return ApiError(422, "validation", shown, findings=findings)


def json_path(location: Iterable[str | int]) -> str:
    """``("body", "profile", "chargingSchedule", 0, "limit")`` → ``body.profile.chargingSchedule[0].limit``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _schema_findings(errors: Sequence[Any]) -> list[FindingOut]:
    found = []
    for error in errors:
        # Pydantic names the variant of a union in the location (e.g. "function-after[...]"): not a field.
        location = [p for p in error.get("loc", ()) if not (isinstance(p, str) and "[" in p)]
        found.append(FindingOut(path=json_path(location), rule_id=SCHEMA_RULE, message=error.get("msg", ""),
                                type=error.get("type")))
    return found


def _allowed_methods(app: FastAPI, request: Request) -> list[str]:
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**request.scope, "type": "http"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "validation", 503: "unavailable"}


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body().model_dump(mode="json"), status_code=exc.status, headers=exc.headers)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return await api_error(_, invalid(_schema_findings(exc.errors())))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _CODES.get(exc.status_code, "error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route whose path matched; a path served by several routes
            # (GET and POST …/profiles) supports all of theirs.
            headers["Allow"] = ", ".join(_allowed_methods(app, request))
        error = ApiError(exc.status_code, code, str(exc.detail), headers=headers or None)
        return await api_error(request, error)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


#: The error answers every authenticated route documents (``responses=`` of the routers).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A body that is not JSON."},
    401: {"model": ErrorBody, "description": "Missing, unknown or revoked bearer token."},
    403: {"model": ErrorBody, "description": "Outside the client's grant; `refusals` name the rules."},
    422: {"model": ErrorBody, "description": "Invalid request; `findings` give JSON paths and rule ids."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No such resource."}}
