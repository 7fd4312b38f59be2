"""Browser-facing protections: security headers with a strict CSP, CSRF, per-user and per-IP limits.

* Headers: every answer gets a Content-Security-Policy that allows only this origin's own scripts,
  styles and fetches (no inline script, no eval, nothing framed), plus nosniff, no referrer, no framing,
  and HSTS when the request came over HTTPS.
* CSRF: a per-login random token, handed to the page by ``GET /api/me`` and required in the
  ``X-CSRF-Token`` header of every state-changing request (compared in constant time). The session
  cookie is also ``SameSite=Lax``, so a cross-site form cannot even carry it.
* Rate limits: server_bot/ratelimit.py's limiter (moving window; Redis when ``REDIS_URL`` is set, with
  its in-memory fallback) with the web's own rules: one limiter counts per signed-in user, one per client
  address. A denial is a 429 with ``Retry-After``.
* Client address: the socket peer, unless the peer is a configured trusted proxy (uvicorn's
  ProxyHeadersMiddleware then takes X-Forwarded-For/-Proto from it, and only from it).
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server_bot.ratelimit import RateLimiter, RateRules
from server_bot.web.errors import CsrfRefused, RateLimited

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP answer (errors and 404s included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in _HEADERS if h[0] not in present)
                if https:
                    headers.append(_HSTS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def check_csrf(method: str, sent: str | None, expected: str) -> None:
    if method in SAFE_METHODS:
        return
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused("Missing or wrong CSRF token; reload the page and try again.")


# The limiter keys counters by an integer id under the same names as the Discord bot's command limits.
# Web counters use negative ids (addresses in [-2**128, -1], users below -2**129) so they never share a
# counter with a Discord user's command quota.
_USER_BASE = -(2**129)


def _ip_key(client_ip: str) -> int:
    try:
        return -1 - int(ipaddress.ip_address(client_ip))
    except ValueError:  # not an address (a test client, a unix socket): one shared bucket
        return -1


class WebLimits:
    """Per-user and per-IP request limits for the web app on the shared limiter implementation."""

    def __init__(self, per_user: str, per_ip: str, redis_url: str | None) -> None:
        # The limiter counts `command` requests per id; "global" rules are set out of reach because the
        # web's own ceiling is the per-IP rule. Two limiters keep users and addresses apart.
        unlimited = "1000000/second"
        self.users = RateLimiter.from_url(
            redis_url, RateRules(command_per_user=per_user, command_global=unlimited)
        )
        self.ips = RateLimiter.from_url(
            redis_url, RateRules(command_per_user=per_ip, command_global=unlimited)
        )

    async def check(self, user_id: int | None, client_ip: str) -> None:
        decision = await self.ips.check("command", _ip_key(client_ip))
        if decision.allowed and user_id is not None:
            decision = await self.users.check("command", _USER_BASE - user_id)
        if not decision.allowed:
            raise RateLimited("Too many requests; slow down.", decision.retry_after_whole_s)

    async def aclose(self) -> None:
        await self.users.aclose()
        await self.ips.aclose()
