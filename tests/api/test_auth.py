"""Bearer tokens: every route but /healthz and the OpenAPI pages needs one; missing, unknown, malformed and
revoked tokens are 401 with ``WWW-Authenticate: Bearer``; only a hash of a token is stored."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from wattcap.store import create_engine

from .site import API, ApiSite, grant

OPEN = {"/healthz", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc"}


async def test_open_pages_need_no_token(site: ApiSite):
    async with site.client() as http:
        for path in ("/healthz", "/docs", "/openapi.json"):
            assert (await http.get(path)).status_code == 200, path


async def test_every_other_route_answers_401_without_a_token(site: ApiSite):
    async with site.client() as http:
        schema = (await http.get("/openapi.json")).json()
        checked = []
        for path, operations in schema["paths"].items():
            if path in OPEN:
                continue
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            for method in operations:
                answer = await http.request(method.upper(), concrete)
                assert answer.status_code == 401, f"{method.upper()} {path}: {answer.status_code}"
                assert answer.headers["www-authenticate"].startswith("Bearer")
                assert answer.json()["error"]["code"] == "unauthorized"
                checked.append(f"{method} {path}")
    assert len(checked) >= 25  # the routes of this issue, at least


@pytest.mark.parametrize("header", [
    "Bearer wc_0123456789ab_not-the-secret",  # unknown id
    "Bearer not-a-wattcap-token",  # malformed
    "Basic dXNlcjpwYXNz",  # another scheme
    "Bearer",  # nothing after the scheme
])
async def test_unknown_malformed_and_foreign_credentials_are_401(site: ApiSite, header: str):
    async with site.client() as http:
        answer = await http.get(f"{API}/me", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="wattcap"'


async def test_a_token_with_the_wrong_secret_is_401(site: ApiSite):
    token = await site.token("dash", grant(stations=["*"], read_only=True))
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    async with site.client(forged) as http:
        assert (await http.get(f"{API}/me")).status_code == 401
    async with site.client(token) as http:
        assert (await http.get(f"{API}/me")).status_code == 200


async def test_a_revoked_token_is_refused_from_the_next_request_on(site: ApiSite):
    token = await site.token("fleet", grant(stations=["*"], bands=["session"]))
    async with site.client(token) as http:
        me = (await http.get(f"{API}/me")).json()
        assert me["client"] == "fleet" and me["actor"] == "api:fleet"
        await site.repository.revoke_api_token(me["token_id"])
        answer = await http.get(f"{API}/me")
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "unknown or revoked token"


async def test_only_a_hash_of_the_token_is_stored_and_use_is_recorded(site: ApiSite, tmp_path):
    token = await site.token("ems", grant(sites=["*"], signals=["building_load"]))
    async with site.client(token) as http:
        assert (await http.get(f"{API}/me")).status_code == 200
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}")
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(sa.text("SELECT * FROM api_tokens"))).mappings().all()
    finally:
        await engine.dispose()
    [row] = rows
    secret = token.split("_", 2)[2]  # wc_<id>_<secret>
    assert secret not in str(dict(row)) and token not in str(dict(row))
    assert row["secret_hash"].startswith("sha256$") and row["last_used_at"] is not None


async def test_the_openapi_schema_declares_bearer_auth_on_the_api(site: ApiSite):
    async with site.client() as http:
        schema = (await http.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert {"bearer": []} in schema["paths"][f"{API}/stations"]["get"]["security"]
    assert "security" not in schema["paths"]["/healthz"]["get"]
