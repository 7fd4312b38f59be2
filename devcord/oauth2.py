"""OAuth2 as Discord documents it ("Topics > OAuth2"), enough for "Log in with Discord".

Endpoints (paths as on discord.com):

* ``GET /oauth2/authorize`` - the consent page. Discord shows it to whoever is logged in to discord.com;
  devcord has no logins, so the page asks which person is acting (a list of the non-bot users,
  preselected from the ``devcord_user`` cookie or a ``login_hint`` when given) and offers "Authorize" and
  "Cancel". ``POST /oauth2/authorize`` is that form: it redirects to ``redirect_uri`` with ``code`` and
  ``state``, or with ``error=access_denied``. An unknown client or an unregistered ``redirect_uri`` gets an
  error page and no redirect, as on Discord.
* ``POST /api/v10/oauth2/token`` - ``authorization_code`` (with PKCE: ``code_challenge_method=S256``
  checked against ``code_verifier``; ``redirect_uri`` must match) and ``refresh_token`` (the old refresh
  token stops working). Client authentication by HTTP Basic or ``client_id``/``client_secret`` fields.
* ``POST /api/v10/oauth2/token/revoke`` - revokes an access or refresh token and its pair.
* ``GET /api/v10/users/@me`` (scope ``identify``) and ``GET /api/v10/users/@me/guilds/{guild.id}/member``
  (scope ``guilds.members.read``) with ``Authorization: Bearer <token>``.

Clients are registered through the driver API (Discord's developer portal):
``POST /_devcord/oauth2/clients`` ``{"application": <id or name>, "redirect_uris": [...]}`` answers
``{"client_id", "client_secret"}``. Codes live 10 minutes, access tokens 7 days (Discord's figures).

The Bearer routes sit inside the bot API's sub-application, whose middleware wants a bot token, so
`OAuth2.middleware` (installed before it) answers OAuth2 requests itself.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web

from devcord.errors import UNKNOWN_GUILD, ApiError, unknown
from devcord.http import json_response, read_json
from devcord.world import World

API_PREFIX = "/api/v10"
CODE_TTL_S = 600.0
TOKEN_TTL_S = 604800.0
SCOPES = frozenset({"identify", "email", "guilds", "guilds.members.read"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action *",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass
class Client:
    client_id: int
    secret: str
    redirect_uris: set[str] = field(default_factory=set)


@dataclass
class Grant:
    client_id: int
    user_id: int
    scopes: tuple[str, ...]
    redirect_uri: str
    challenge: str | None
    expires_at: float


@dataclass
class Token:
    access: str
    refresh: str
    client_id: int
    user_id: int
    scopes: tuple[str, ...]
    expires_at: float


class OAuthError(Exception):
    """An RFC 6749 error answer: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> web.Response:
        body = {"error": self.error, "error_description": self.description}
        return json_response(body, status=self.status)


class OAuth2:
    def __init__(self, world: World) -> None:
        self.world = world
        self.clients: dict[int, Client] = {}
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, Token] = {}  # by access token
        self.refresh: dict[str, Token] = {}  # by refresh token

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/oauth2/authorize", self.authorize_page),
            web.post("/oauth2/authorize", self.authorize),
            web.post("/_devcord/oauth2/clients", self.register_client),
        ]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix(API_PREFIX)
        try:
            if path == "/oauth2/token" and request.method == "POST":
                return await self.token(request)
            if path == "/oauth2/token/revoke" and request.method == "POST":
                return await self.revoke(request)
            if request.headers.get("Authorization", "").startswith("Bearer "):
                return await self.bearer(request, path)
        except OAuthError as exc:
            return exc.response()
        except ApiError as exc:
            return json_response(exc.body(), status=exc.status)
        return await handler(request)

    # -- developer portal ----------------------------------------------------------------------------

    async def register_client(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        ref = str(body.get("application", ""))
        app = next((a for a in self.world.apps.values() if ref in (a.name, str(a.id))), None)
        if app is None:
            raise ApiError(404, 10002, "Unknown Application")
        client = self.clients.setdefault(app.id, Client(app.id, secrets.token_urlsafe(24)))
        client.redirect_uris.update(str(uri) for uri in body.get("redirect_uris") or [])
        return json_response({"client_id": str(app.id), "client_secret": client.secret})

    # -- consent -------------------------------------------------------------------------------------

    def _check_request(self, params: dict[str, str]) -> tuple[Client, str, tuple[str, ...]]:
        """Errors here are shown on the page (never redirected): the redirect target is not trusted yet."""
        client = self.clients.get(_int(params.get("client_id")))
        if client is None:
            raise OAuthError("invalid_client", "Unknown application")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise OAuthError("invalid_request", "Invalid OAuth2 redirect_uri")
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "response_type must be code")
        scopes = tuple(params.get("scope", "").split())
        if not scopes or not set(scopes) <= SCOPES:
            raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
        method = params.get("code_challenge_method")
        if params.get("code_challenge") and method != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256")
        return client, redirect_uri, scopes

    async def authorize_page(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        try:
            client, _, scopes = self._check_request(params)
        except OAuthError as exc:
            return _page(f"<h1>Error</h1><p>{html.escape(exc.description)}</p>", status=400)
        app = self.world.apps[client.client_id]
        chosen = params.get("login_hint") or request.cookies.get("devcord_user", "")
        people = [u for u in self.world.users.values() if not u.bot]
        options = "".join(
            f'<option value="{u.id}"{" selected" if chosen in (str(u.id), u.username) else ""}>'
            f"{html.escape(u.global_name or u.username)}</option>"
            for u in people
        )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k != "login_hint"
        )
        body = (
            f"<h1>{html.escape(app.name)} wants to access your account</h1>"
            f"<p>Scopes: {html.escape(' '.join(scopes))}</p>"
            f'<form method="post" action="/oauth2/authorize">{hidden}'
            f'<label>Signed in as <select name="user" id="user">{options}</select></label> '
            '<button name="action" value="authorize" id="authorize">Authorize</button> '
            '<button name="action" value="cancel" id="cancel">Cancel</button></form>'
        )
        return _page(body)

    async def authorize(self, request: web.Request) -> web.Response:
        params = {k: str(v) for k, v in (await request.post()).items()}
        try:
            client, redirect_uri, scopes = self._check_request(params)
        except OAuthError as exc:
            return _page(f"<h1>Error</h1><p>{html.escape(exc.description)}</p>", status=400)
        answer: dict[str, str] = {}
        if params.get("action") != "authorize":
            answer["error"] = "access_denied"
            answer["error_description"] = "The resource owner or authorization server denied the request"
        else:
            user = self.world.user_named(params.get("user", ""))
            code = secrets.token_urlsafe(24)
            self.codes[code] = Grant(
                client.client_id,
                user.id,
                scopes,
                redirect_uri,
                params.get("code_challenge") or None,
                time.time() + CODE_TTL_S,
            )
            answer["code"] = code
        if "state" in params:
            answer["state"] = params["state"]
        sep = "&" if "?" in redirect_uri else "?"
        raise web.HTTPFound(redirect_uri + sep + urlencode(answer))

    # -- tokens --------------------------------------------------------------------------------------

    async def _client(self, request: web.Request, form: dict[str, str]) -> Client:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                raise OAuthError("invalid_client", "Malformed Basic credentials", 401) from None
        client = self.clients.get(_int(client_id))
        if client is None or not secrets.compare_digest(client.secret, secret or ""):
            raise OAuthError("invalid_client", "Invalid client credentials", 401)
        return client

    async def token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        client = await self._client(request, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)  # single use, even when it fails
            if grant is None or grant.client_id != client.client_id or grant.expires_at < time.time():
                raise OAuthError("invalid_grant", 'Invalid "code" in request.')
            if form.get("redirect_uri") != grant.redirect_uri:
                raise OAuthError("invalid_grant", 'Invalid "redirect_uri" in request.')
            if grant.challenge is not None and _s256(form.get("code_verifier", "")) != grant.challenge:
                raise OAuthError("invalid_grant", 'Invalid "code_verifier" in request.')
            token = self._issue(client.client_id, grant.user_id, grant.scopes)
        elif grant_type == "refresh_token":
            old = self.refresh.pop(form.get("refresh_token", ""), None)
            if old is None or old.client_id != client.client_id:
                raise OAuthError("invalid_grant", 'Invalid "refresh_token" in request.')
            self.tokens.pop(old.access, None)
            token = self._issue(client.client_id, old.user_id, old.scopes)
        else:
            raise OAuthError("unsupported_grant_type", "Unsupported grant type")
        return json_response(
            {
                "access_token": token.access,
                "token_type": "Bearer",
                "expires_in": int(TOKEN_TTL_S),
                "refresh_token": token.refresh,
                "scope": " ".join(token.scopes),
            }
        )

    def _issue(self, client_id: int, user_id: int, scopes: tuple[str, ...]) -> Token:
        token = Token(
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(24),
            client_id,
            user_id,
            scopes,
            time.time() + TOKEN_TTL_S,
        )
        self.tokens[token.access] = token
        self.refresh[token.refresh] = token
        return token

    async def revoke(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        client = await self._client(request, form)
        value = form.get("token", "")
        token = self.tokens.get(value) or self.refresh.get(value)
        # RFC 7009: the answer does not reveal whether the token existed.
        if token is not None and token.client_id == client.client_id:
            self.tokens.pop(token.access, None)
            self.refresh.pop(token.refresh, None)
        return json_response({})

    # -- Bearer API ----------------------------------------------------------------------------------

    async def bearer(self, request: web.Request, path: str) -> web.Response:
        token = self.tokens.get(request.headers["Authorization"].removeprefix("Bearer "))
        if token is None or token.expires_at < time.time():
            return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        parts = path.strip("/").split("/")
        if request.method == "GET" and parts == ["users", "@me"]:
            _need(token, "identify")
            return json_response(self.world.user(token.user_id).payload())
        if request.method == "GET" and len(parts) == 5 and parts[:3] == ["users", "@me", "guilds"]:
            _need(token, "guilds.members.read")
            guild = self.world.guilds.get(_int(parts[3])) if parts[4] == "member" else None
            member = guild.members.get(token.user_id) if guild is not None else None
            if guild is None or member is None:
                raise unknown(UNKNOWN_GUILD, "Guild")
            return json_response(self.world.member_payload(guild, member))
        return json_response({"message": "401: Unauthorized", "code": 0}, status=401)


def _need(token: Token, scope: str) -> None:
    if scope not in token.scopes:
        raise ApiError(403, 50001, "Missing Access")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _page(body: str, status: int = 200) -> web.Response:
    text = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Discord - Authorize</title></head>'
        f"<body>{body}</body></html>"
    )
    return web.Response(text=text, status=status, content_type="text/html", headers=_PAGE_HEADERS)
