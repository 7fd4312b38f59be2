"""`Annotated` dependencies of the routes: the shared context, the signed-in person, the admin check.

Every `/api` route depends on `Viewer` (or `Admin`), which also enforces CSRF on state-changing
methods and counts the request against the per-user and per-IP limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server_bot.core import Actor, Banned
from server_bot.web.context import WebContext
from server_bot.web.errors import Forbidden, NotSignedIn
from server_bot.web.login import Login
from server_bot.web.security import CSRF_HEADER, check_csrf

SESSION_KEY = "login"


def get_context(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


Context = Annotated[WebContext, Depends(get_context)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def limited(request: Request, ctx: Context) -> None:
    """Per-IP limit for requests made before anyone is signed in (login pages)."""
    await ctx.limits.check(None, client_ip(request))


async def get_login(request: Request, ctx: Context) -> Login:
    login = ctx.logins.get(request.session.get(SESSION_KEY))
    if login is None:
        await ctx.limits.check(None, client_ip(request))
        raise NotSignedIn("Sign in with Discord first.")
    await ctx.limits.check(login.person.user_id, client_ip(request))
    check_csrf(request.method, request.headers.get(CSRF_HEADER), login.csrf_token)
    try:
        # A ban (from Discord, /ai-admin or this dashboard) ends web access at once, not at sign-out.
        await ctx.core.access.check_not_blocked(login.person.user_id)
    except Banned as exc:
        ctx.logins.drop_user(login.person.user_id)
        raise Forbidden(exc.user_message) from None
    return login


Viewer = Annotated[Login, Depends(get_login)]


def actor_of(ctx: WebContext, login: Login) -> Actor:
    """The core's view of the signed-in person: their Discord id and guild role ids, on the web front."""
    person = login.person
    return Actor(person.user_id, "web", role_ids=person.roles, guild_id=ctx.login.guild_id)


async def get_admin(login: Viewer, ctx: Context) -> Login:
    # The core decides: the AI Admin role by its id, never by its name.
    if not await ctx.core.access.is_admin(actor_of(ctx, login)):
        raise Forbidden("Only AI Admins may open this page.")
    return login


Admin = Annotated[Login, Depends(get_admin)]
Limited = Annotated[None, Depends(limited)]
