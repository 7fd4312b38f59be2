"""Login, access control and browser protections of the web app, over HTTP (no browser needed)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from server_bot.web.routes import admin as admin_routes
from tests.web.conftest import Stack, sign_in


async def test_a_member_signs_in_through_discord_and_sees_who_they_are(stack: Stack) -> None:
    http = await sign_in(stack, "alice")
    me = (await http.get("/api/me")).json()
    assert me["name"] == "alice" and me["admin"] is False and me["id"] == str(stack.user_id("alice"))
    await http.aclose()


async def test_a_banned_member_cannot_sign_in(stack: Stack) -> None:
    await stack.core.access.ban(stack.user_id("bob"))
    http = await sign_in(stack, "bob")
    assert http.last_login.status_code == 403  # type: ignore[attr-defined]
    assert "banned" in http.last_login.text  # type: ignore[attr-defined]
    assert (await http.get("/api/me")).status_code == 401
    await http.aclose()


async def test_someone_who_left_the_guild_cannot_sign_in(stack: Stack) -> None:
    world = stack.devcord.world
    world.remove_member(world.guilds[stack.guild_id], stack.user_id("bob"))
    http = await sign_in(stack, "bob")
    assert http.last_login.status_code == 403  # type: ignore[attr-defined]
    await http.aclose()


async def test_logout_revokes_the_discord_token_and_ends_the_session(stack: Stack) -> None:
    http = await sign_in(stack, "alice")
    tokens = stack.devcord.oauth2.tokens
    (token,) = [t for t in tokens.values() if t.user_id == stack.user_id("alice")]
    assert (await http.post("/api/logout")).status_code == 200
    assert token.access not in tokens
    async with httpx.AsyncClient() as discord_api:
        me = await discord_api.get(
            stack.devcord.api_base + "/users/@me", headers={"Authorization": f"Bearer {token.access}"}
        )
    assert me.status_code == 401
    assert (await http.get("/api/me")).status_code == 401
    await http.aclose()


async def test_state_changing_request_without_csrf_token_is_refused(stack: Stack) -> None:
    http = await sign_in(stack, "alice")
    del http.headers["X-CSRF-Token"]
    refused = await http.post("/api/sessions", json={})
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    wrong = await http.post("/api/sessions", json={}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    assert (await http.get("/api/sessions")).json() == []
    await http.aclose()


async def test_a_login_callback_with_a_forged_state_is_refused(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as http:
        await http.get("/login")
        answer = await http.get("/auth/callback", params={"code": "x", "state": "forged"})
    assert answer.status_code == 400


async def test_bob_cannot_read_alices_sessions_or_transcripts_by_id(stack: Stack) -> None:
    alice = await sign_in(stack, "alice")
    bob = await sign_in(stack, "bob")
    session = (await alice.post("/api/sessions", json={})).json()
    sid = session["id"]
    guesses = [sid, str(uuid.uuid4())]
    for guess in guesses:
        for method, path in [
            ("GET", f"/api/sessions/{guess}"),
            ("POST", f"/api/sessions/{guess}/stop"),
            ("POST", f"/api/sessions/{guess}/end"),
            ("POST", f"/api/sessions/{guess}/regenerate"),
            ("PUT", f"/api/sessions/{guess}/settings"),
            ("GET", f"/api/transcripts/{guess}.md"),
            ("GET", f"/api/transcripts/{guess}.json"),
        ]:
            body: Any = {} if method != "GET" else None
            answer = await bob.request(method, path, json=body)
            # The same answer for "not yours" and "no such id": nothing to learn by guessing.
            assert answer.status_code == 404, (method, path, answer.text)
        answer = await bob.post(f"/api/sessions/{guess}/messages", json={"text": "hi"})
        assert answer.status_code == 404
    assert sid not in (await bob.get("/api/sessions")).text
    assert sid not in (await bob.get("/api/transcripts")).text
    assert (await alice.get(f"/api/sessions/{sid}")).status_code == 200
    await alice.aclose()
    await bob.aclose()


ADMIN_ROUTES = [
    ("GET", "/api/admin/overview"),
    ("GET", "/api/admin/metrics.png"),
    ("GET", "/api/admin/audit"),
    ("POST", "/api/admin/bans"),
    ("DELETE", "/api/admin/bans/1"),
    ("PUT", "/api/admin/toggles/requests_paused"),
]


async def test_a_non_admin_gets_403_on_every_admin_route(stack: Stack) -> None:
    # The list above is every admin route there is: a new one must be added here to be tested.
    listed = {
        (method, route.path.replace("{user_id}", "1").replace("{name}", "requests_paused"))
        for route in admin_routes.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert listed == set(ADMIN_ROUTES)
    alice = await sign_in(stack, "alice")
    for method, path in ADMIN_ROUTES:
        body = {"user_id": 1, "enabled": True} if method in ("POST", "PUT") else None
        answer = await alice.request(method, path, json=body)
        assert answer.status_code == 403, (method, path)
    admin = await sign_in(stack, "admin")
    assert (await admin.get("/api/admin/overview")).status_code == 200
    await alice.aclose()
    await admin.aclose()


async def test_admin_actions_are_audited_and_filterable(stack: Stack) -> None:
    admin = await sign_in(stack, "admin")
    bob_id = stack.user_id("bob")
    assert (await admin.post("/api/admin/bans", json={"user_id": bob_id})).json()["banned"] is True
    assert (await admin.put("/api/admin/toggles/fallback_enabled", json={"enabled": True})).status_code == 200
    rows = (await admin.get("/api/admin/audit", params={"event": "web_admin"})).json()
    assert {r["command"] for r in rows} == {"ban", "toggle.fallback_enabled"}
    assert all(r["success"] for r in rows)
    assert (
        await admin.get("/api/admin/audit", params={"event": "web_admin", "success": "false"})
    ).json() == []
    await admin.aclose()


@pytest.mark.parametrize("web_overrides", [{"cors_origins": ["https://chat.example.com"]}])
async def test_cors_preflight_only_answers_allowlisted_origins(stack: Stack) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-csrf-token"}
    async with httpx.AsyncClient(base_url=stack.url) as http:
        evil = await http.options("/api/sessions", headers={"Origin": "https://evil.example", **preflight})
        good = await http.options(
            "/api/sessions", headers={"Origin": "https://chat.example.com", **preflight}
        )
    assert not [h for h in evil.headers if h.lower().startswith("access-control-")]
    assert good.headers["access-control-allow-origin"] == "https://chat.example.com"
    assert good.headers["access-control-allow-credentials"] == "true"


async def test_with_no_allowlist_no_origin_gets_cors_headers(stack: Stack) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Origin": "http://127.0.0.1:9"}
    async with httpx.AsyncClient(base_url=stack.url) as http:
        answer = await http.options("/api/sessions", headers=preflight)
    assert not [h for h in answer.headers if h.lower().startswith("access-control-")]


@pytest.mark.parametrize("web_overrides", [{"rate_per_user": "3/minute"}])
async def test_too_many_requests_get_429_with_retry_after(stack: Stack) -> None:
    alice = await sign_in(stack, "alice")  # /api/me counted once
    answers = [await alice.get("/api/sessions") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    await alice.aclose()


@pytest.mark.parametrize("web_overrides", [{"rate_per_ip": "2/minute"}])
async def test_per_address_limit_applies_before_sign_in(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as http:
        answers = [await http.get("/api/me") for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    assert "Retry-After" in answers[-1].headers


async def test_every_answer_carries_a_strict_csp_and_security_headers(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as http:
        for path in ("/", "/admin", "/static/chat.js", "/api/me", "/nope"):
            headers = (await http.get(path)).headers
            csp = headers["content-security-policy"]
            assert (
                "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
            )
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("web_overrides", [{"cookie_secure": True}])
async def test_the_session_cookie_is_secure_httponly_samesite_and_signed(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as http:
        start = await http.get("/login")
    cookie = start.headers["set-cookie"].lower()
    assert cookie.startswith("meatlizard_session=")
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    # Tampering with the signed value makes it worthless.
    async with httpx.AsyncClient(base_url=stack.url, cookies={"meatlizard_session": "forged.value"}) as http:
        assert (await http.get("/api/me")).status_code == 401


@pytest.mark.parametrize("web_overrides", [{"trusted_proxies": ["10.9.9.9"], "rate_per_ip": "1/minute"}])
async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(stack: Stack) -> None:
    # The test client is not the trusted proxy: a spoofed X-Forwarded-For does not buy a fresh quota.
    async with httpx.AsyncClient(base_url=stack.url) as http:
        first = await http.get("/api/me", headers={"X-Forwarded-For": "1.1.1.1"})
        second = await http.get("/api/me", headers={"X-Forwarded-For": "2.2.2.2"})
    assert first.status_code == 401 and second.status_code == 429


async def test_a_ban_ends_a_signed_in_members_web_access_at_once(stack: Stack) -> None:
    bob = await sign_in(stack, "bob")
    sid = (await bob.post("/api/sessions", json={})).json()["id"]
    await stack.core.access.ban(stack.user_id("bob"))
    assert (await bob.get(f"/api/sessions/{sid}")).status_code == 403
    assert (await bob.get("/api/me")).status_code == 401  # signed out everywhere
    await bob.aclose()


@pytest.mark.parametrize("web_overrides", [{"trusted_proxies": ["127.0.0.1"], "rate_per_ip": "1/minute"}])
async def test_forwarded_headers_from_the_trusted_proxy_are_believed(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as http:
        first = await http.get(
            "/api/me", headers={"X-Forwarded-For": "1.1.1.1", "X-Forwarded-Proto": "https"}
        )
        other = await http.get("/api/me", headers={"X-Forwarded-For": "2.2.2.2"})
        again = await http.get("/api/me", headers={"X-Forwarded-For": "1.1.1.1"})
    # Each forwarded address has its own quota; HTTPS at the proxy turns on HSTS.
    assert [first.status_code, other.status_code, again.status_code] == [401, 401, 429]
    assert "max-age" in first.headers["strict-transport-security"]
    assert "strict-transport-security" not in other.headers
