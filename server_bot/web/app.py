"""The FastAPI application: middleware (proxy headers, security headers, CORS, signed session cookie),
the routers, the static pages and one error handler for the `WebError` tree."""

from __future__ import annotations

import math
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from server_bot.core import (
    Blocked,
    CoreError,
    InvalidInput,
    NoOpenSession,
    NotAdmin,
    NotSessionOwner,
    RelayUnavailable,
    RequestsPaused,
    SessionAlreadyOpen,
)
from server_bot.core import RateLimited as CoreRateLimited
from server_bot.web.context import WebContext
from server_bot.web.errors import RateLimited, WebError
from server_bot.web.routes import admin, auth, chat, my_data, transcripts
from server_bot.web.security import CSRF_HEADER, SecurityHeaders

STATIC_DIR = Path(__file__).parent / "static"
# The only files served: a fixed list, so no request path ever reaches the filesystem.
_STATIC = {
    "chat.js": "text/javascript",
    "admin.js": "text/javascript",
    "tokens.js": "text/javascript",
    "common.js": "text/javascript",
    "app.css": "text/css",
}
_PAGES = {"/": "index.html", "/admin": "admin.html", "/tokens": "tokens.html"}
COOKIE_NAME = "meatlizard_session"


class AllowlistCors(CORSMiddleware):
    """Starlette's CORS, except that a preflight from an origin outside the allowlist gets no CORS
    headers at all (Starlette would still list the allowed methods and headers)."""

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = dict(scope["headers"])
            origin = headers.get(b"origin", b"").decode("latin-1")
            preflight = b"access-control-request-method" in headers
            if preflight and origin and not self.is_allowed_origin(origin):
                await PlainTextResponse("Disallowed CORS origin", status_code=400)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(ctx: WebContext) -> FastAPI:
    settings = ctx.settings
    app = FastAPI(title="MeatLizard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = ctx
    assert settings.session_secret is not None  # WebSettings requires it when the app is enabled
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie=COOKIE_NAME,
        max_age=settings.session_max_age_s,
        same_site="lax",  # Lax, not Strict: the login callback is a top-level navigation from Discord
        https_only=settings.cookie_secure,
    )
    app.add_middleware(
        AllowlistCors,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Content-Type", CSRF_HEADER],
    )
    app.add_middleware(SecurityHeaders)
    if settings.trusted_proxies:
        app.add_middleware(_proxy_headers(settings.trusted_proxies))
    for module in (auth, chat, transcripts, my_data, admin):
        app.include_router(module.router)
    for router in ctx.routers:  # e.g. /api/tokens (server_bot/mcp)
        app.include_router(router)
    for path, mounted in ctx.mounts.items():  # e.g. /mcp (server_bot/mcp), which does its own auth
        app.add_route(path, mounted)  # type: ignore[arg-type]
    app.add_exception_handler(WebError, _web_error)  # type: ignore[arg-type]
    app.add_exception_handler(CoreError, _core_error)  # type: ignore[arg-type]
    for path, name in _PAGES.items():
        app.add_api_route(path, _page(name), methods=["GET"], include_in_schema=False)
    app.add_api_route("/static/{name}", _static, methods=["GET"], include_in_schema=False)
    return app


def _proxy_headers(trusted: list[str]) -> type[ProxyHeadersMiddleware]:
    class TrustedProxyHeaders(ProxyHeadersMiddleware):
        def __init__(self, app: ASGIApp) -> None:
            super().__init__(app, trusted_hosts=trusted)  # type: ignore[arg-type]

    return TrustedProxyHeaders


async def _web_error(request: Request, exc: WebError) -> Response:
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, status_code=exc.status, headers=headers)
    return PlainTextResponse(str(exc), status_code=exc.status, headers=headers)


# Someone else's session answers exactly like one that does not exist, so ids cannot be probed.
_NOT_FOUND = "No such chat."
_CORE_STATUS: list[tuple[type[CoreError], int]] = [
    (NotSessionOwner, 404),
    (NoOpenSession, 404),
    (NotAdmin, 403),
    (Blocked, 403),
    (SessionAlreadyOpen, 409),
    (RequestsPaused, 503),
    (RelayUnavailable, 503),
    (InvalidInput, 400),
]


async def _core_error(request: Request, exc: CoreError) -> Response:
    if isinstance(exc, CoreRateLimited):
        retry = max(1, math.ceil(exc.retry_after_s))
        return JSONResponse({"error": exc.user_message}, status_code=429, headers={"Retry-After": str(retry)})
    status = next((code for kind, code in _CORE_STATUS if isinstance(exc, kind)), 409)
    message = _NOT_FOUND if isinstance(exc, NotSessionOwner) else exc.user_message
    body: dict[str, object] = {"error": message}
    if isinstance(exc, SessionAlreadyOpen):
        body["session_id"] = str(exc.session_id)
    return JSONResponse(body, status_code=status)


def _page(name: str):  # type: ignore[no-untyped-def]
    async def page() -> Response:
        return _file(name, "text/html")

    return page


async def _static(name: str) -> Response:
    content_type = _STATIC.get(name)
    if content_type is None:
        return PlainTextResponse("not found", status_code=404)
    return _file(name, content_type)


def _file(name: str, content_type: str) -> Response:
    body = (STATIC_DIR / name).read_bytes()
    return Response(body, media_type=f"{content_type}; charset=utf-8", headers={"Cache-Control": "no-store"})
