"""Tokens on the web app: a signed-in person creates one (shown once), uses it over MCP, lists and revokes
it; another person cannot revoke it; CSRF applies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from tests.mcp.harness import INITIALIZE, McpStack, connected, mcp_stack, raw_post, replies
from tests.web.conftest import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
async def mcp(devcord: Devcord, tmp_path: Path) -> AsyncIterator[McpStack]:
    async with mcp_stack(devcord, FakeEngine(replies), tmp_path) as running:
        yield running


async def test_a_token_made_on_the_web_works_over_mcp_until_revoked_there(mcp: McpStack) -> None:
    site = SimpleNamespace(url=mcp.web_url, devcord=mcp.stack.devcord)
    alice = await sign_in(site, "alice")  # type: ignore[arg-type]
    bob = await sign_in(site, "bob")  # type: ignore[arg-type]
    try:
        created = await alice.post("/api/tokens", json={"scopes": ["chat", "transcripts"], "name": "laptop"})
        assert created.status_code == 201
        secret = created.json()["token"]
        assert secret.startswith("mlz_") and created.json()["scopes"] == ["chat", "transcripts"]
        async with connected(mcp.url, secret) as session:
            assert not (await session.call_tool("list_sessions", {})).is_error

        listed = (await alice.get("/api/tokens")).json()
        assert [(t["name"], t["revoked_at"]) for t in listed] == [("laptop", None)]
        assert "token" not in listed[0]  # shown once, at creation only
        token_id = listed[0]["id"]

        assert (await bob.delete(f"/api/tokens/{token_id}")).status_code == 404
        no_csrf = alice.headers.pop("X-CSRF-Token")
        assert (await alice.delete(f"/api/tokens/{token_id}")).status_code == 403
        alice.headers["X-CSRF-Token"] = no_csrf
        assert (await alice.delete(f"/api/tokens/{token_id}")).status_code == 200
        assert (await raw_post(mcp.url, secret, INITIALIZE)).status_code == 401

        refused = await alice.post("/api/tokens", json={"scopes": ["root"]})
        assert refused.status_code == 400 and "chat,transcripts,admin" in refused.json()["error"]
    finally:
        await alice.aclose()
        await bob.aclose()
