"""devcord's OAuth2 (devcord/oauth2.py) driven by httpx-oauth, the client the web app uses on Discord."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from httpx_oauth.oauth2 import BaseOAuth2, GetAccessTokenError

from devcord import Devcord

REDIRECT = "http://127.0.0.1:1/callback"


async def _client(devcord: Devcord) -> BaseOAuth2[dict[str, object]]:
    async with httpx.AsyncClient() as http:
        reply = await http.post(
            devcord.base_url + "/_devcord/oauth2/clients",
            json={"application": "server-bot", "redirect_uris": [REDIRECT]},
        )
    reply.raise_for_status()
    data = reply.json()
    token_url = devcord.api_base + "/oauth2/token"
    return BaseOAuth2(
        data["client_id"],
        data["client_secret"],
        devcord.base_url + "/oauth2/authorize",
        token_url,
        token_url,
        token_url + "/revoke",
        base_scopes=["identify", "guilds.members.read"],
        token_endpoint_auth_method="client_secret_basic",
        revocation_endpoint_auth_method="client_secret_basic",
    )


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


async def _authorize(oauth: BaseOAuth2[dict[str, object]], user: str, challenge: str) -> str:
    """Open the consent page, pick `user`, press Authorize; returns the code from the redirect."""
    url = await oauth.get_authorization_url(REDIRECT, "the-state", None, challenge, "S256")
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        assert page.status_code == 200 and "Authorize" in page.text
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
        fields.update({"user": user, "action": "authorize"})
        answer = await http.post(url.split("?")[0], data=fields)
    assert answer.status_code == 302
    query = parse_qs(urlparse(answer.headers["location"]).query)
    assert query["state"] == ["the-state"]
    return query["code"][0]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_code_with_pkce_gives_a_bearer_token_for_me_and_my_membership(devcord: Devcord) -> None:
    oauth = await _client(devcord)
    verifier, challenge = _pkce()
    code = await _authorize(oauth, "alice", challenge)
    token = await oauth.get_access_token(code, REDIRECT, verifier)
    assert token["token_type"] == "Bearer" and token["scope"] == "identify guilds.members.read"
    guild = next(iter(devcord.world.guilds))
    async with httpx.AsyncClient(base_url=devcord.api_base) as http:
        me = (await http.get("/users/@me", headers=_bearer(token["access_token"]))).json()
        assert me["username"] == "alice"
        member = await http.get(f"/users/@me/guilds/{guild}/member", headers=_bearer(token["access_token"]))
        assert member.status_code == 200 and member.json()["user"]["id"] == me["id"]
        # Refreshing replaces both tokens; the old access token stops working.
        fresh = await oauth.refresh_token(token["refresh_token"])
        assert (await http.get("/users/@me", headers=_bearer(token["access_token"]))).status_code == 401
        assert (await http.get("/users/@me", headers=_bearer(fresh["access_token"]))).status_code == 200
        await oauth.revoke_token(fresh["access_token"])
        assert (await http.get("/users/@me", headers=_bearer(fresh["access_token"]))).status_code == 401


async def test_wrong_verifier_reused_code_and_unregistered_redirect_are_refused(devcord: Devcord) -> None:
    oauth = await _client(devcord)
    verifier, challenge = _pkce()
    code = await _authorize(oauth, "bob", challenge)
    with pytest.raises(GetAccessTokenError):
        await oauth.get_access_token(code, REDIRECT, "x" * 43)
    with pytest.raises(GetAccessTokenError):  # the failed attempt used the code up
        await oauth.get_access_token(code, REDIRECT, verifier)
    url = await oauth.get_authorization_url("http://evil.example/", "s", None, challenge, "S256")
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
    assert page.status_code == 400 and "location" not in page.headers


async def test_a_banned_person_has_no_guild_membership(devcord: Devcord) -> None:
    oauth = await _client(devcord)
    verifier, challenge = _pkce()
    guild_id = next(iter(devcord.world.guilds))
    devcord.world.ban(devcord.world.guilds[guild_id], devcord.world.user_named("bob").id, None)
    token = await oauth.get_access_token(await _authorize(oauth, "bob", challenge), REDIRECT, verifier)
    async with httpx.AsyncClient(base_url=devcord.api_base) as http:
        member = await http.get(
            f"/users/@me/guilds/{guild_id}/member", headers=_bearer(token["access_token"])
        )
    assert member.status_code == 404 and member.json()["code"] == 10004
