"""Login with Discord: the OAuth2 authorization-code flow with PKCE and `state`, through httpx-oauth.

`DiscordLogin` builds the consent URL, exchanges the code, reads who the person is and their membership
of the configured guild (scopes ``identify guilds.members.read``, the least that tells us both), and
revokes the token at logout. Tokens never reach the browser: they stay in `Logins`, server-side, keyed
by a random id that the signed session cookie carries, so logging out (or a restart) ends the session.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_oauth.oauth2 import BaseOAuth2, GetAccessTokenError, RevokeTokenError

from server_bot.web.errors import LoginFailed, LoginRefused

SCOPES = ["identify", "guilds.members.read"]
_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Person:
    """Who signed in, as Discord told us at login."""

    user_id: int
    name: str
    roles: frozenset[int]


@dataclass(frozen=True)
class Login:
    person: Person
    access_token: str
    csrf_token: str


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class DiscordLogin:
    def __init__(
        self,
        *,
        client_id: int,
        client_secret: str,
        authorize_url: str,
        api_base: str,
        redirect_uri: str,
        guild_id: int,
    ) -> None:
        token_url = api_base.rstrip("/") + "/oauth2/token"
        self.api_base = api_base.rstrip("/")
        self.redirect_uri = redirect_uri
        self.guild_id = guild_id
        self._oauth: BaseOAuth2[dict[str, Any]] = BaseOAuth2(
            str(client_id),
            client_secret,
            authorize_url,
            token_url,
            token_url,
            token_url + "/revoke",
            name="discord",
            base_scopes=SCOPES,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 (a method name)
            revocation_endpoint_auth_method="client_secret_basic",
        )

    async def consent_url(self, state: str, code_challenge: str) -> str:
        return await self._oauth.get_authorization_url(
            self.redirect_uri, state, None, code_challenge, "S256", {"prompt": "consent"}
        )

    async def exchange(self, code: str, verifier: str) -> str:
        """The access token for `code`; `LoginFailed` if Discord refuses."""
        try:
            token = await self._oauth.get_access_token(code, self.redirect_uri, verifier)
        except GetAccessTokenError:
            raise LoginFailed("Discord did not accept the login; please try again.") from None
        return str(token["access_token"])

    async def person(self, access_token: str) -> Person:
        """Who the token belongs to and their roles in the guild; `LoginRefused` if not a member."""
        headers = {"Authorization": f"Bearer {access_token}"}
        async with httpx.AsyncClient(base_url=self.api_base, headers=headers, timeout=_TIMEOUT_S) as http:
            try:
                me = await http.get("/users/@me")
                member = await http.get(f"/users/@me/guilds/{self.guild_id}/member")
            except httpx.HTTPError:
                raise LoginFailed("Discord could not be reached; please try again.") from None
        if me.status_code != 200:
            raise LoginFailed("Discord did not say who you are; please try again.")
        if member.status_code != 200:
            raise LoginRefused("Only members of the MeatLizard server can use this site.")
        user = me.json()
        roles = frozenset(int(role) for role in member.json().get("roles", []))
        return Person(int(user["id"]), str(user.get("global_name") or user["username"]), roles)

    async def revoke(self, access_token: str) -> None:
        # Logging out here still ends the session if Discord cannot be told; the token then expires.
        with contextlib.suppress(RevokeTokenError, httpx.HTTPError):
            await self._oauth.revoke_token(access_token, "access_token")


class Logins:
    """Signed-in sessions, server-side: a random id (in the cookie) -> `Login`."""

    def __init__(self) -> None:
        self._by_id: dict[str, Login] = {}

    def add(self, person: Person, access_token: str) -> str:
        login_id = secrets.token_urlsafe(32)
        self._by_id[login_id] = Login(person, access_token, secrets.token_urlsafe(32))
        return login_id

    def get(self, login_id: str | None) -> Login | None:
        return self._by_id.get(login_id) if login_id else None

    def pop(self, login_id: str | None) -> Login | None:
        return self._by_id.pop(login_id, None) if login_id else None

    def drop_user(self, user_id: int) -> None:
        """Sign a person out everywhere (used when they are banned)."""
        for login_id in [k for k, v in self._by_id.items() if v.person.user_id == user_id]:
            del self._by_id[login_id]
