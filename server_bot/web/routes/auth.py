"""Login with Discord, logout, and who am I.

``GET /login`` keeps a fresh `state` and PKCE verifier in the signed session cookie and sends the person
to Discord's consent page; ``GET /auth/callback`` checks `state`, exchanges the code with the verifier,
and lets in only members of the guild whom MeatLizard has not banned. ``POST /api/logout`` revokes the
token at Discord and forgets the login."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from server_bot.core import Blocked
from server_bot.web.deps import SESSION_KEY, Context, Limited, Viewer, actor_of
from server_bot.web.errors import LoginFailed, LoginRefused
from server_bot.web.login import pkce_pair

router = APIRouter()


@router.get("/login")
async def login(request: Request, ctx: Context, _: Limited) -> RedirectResponse:
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    request.session["oauth"] = {"state": state, "verifier": verifier}
    return RedirectResponse(await ctx.login.consent_url(state, challenge), status_code=303)


@router.get("/auth/callback")
async def callback(
    request: Request,
    ctx: Context,
    _: Limited,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> RedirectResponse:
    pending = request.session.pop("oauth", None)
    if error is not None:
        raise LoginFailed("Login was cancelled at Discord.")
    if not pending or not state or not code or not hmac.compare_digest(state, str(pending.get("state"))):
        raise LoginFailed("This login link is stale or was not started here; please sign in again.")
    token = await ctx.login.exchange(code, str(pending["verifier"]))
    try:
        person = await ctx.login.person(token)
        try:
            await ctx.core.access.check_not_blocked(person.user_id)
        except Blocked as exc:
            await ctx.audit.record("web_login", success=False, user_id=person.user_id, detail="blocked")
            raise LoginRefused(exc.user_message) from None
    except LoginRefused:
        await ctx.login.revoke(token)
        raise
    request.session.clear()
    request.session[SESSION_KEY] = ctx.logins.add(person, token)
    await ctx.audit.record("web_login", success=True, user_id=person.user_id)
    return RedirectResponse("/", status_code=303)


@router.post("/api/logout")
async def logout(request: Request, ctx: Context, login: Viewer) -> dict[str, bool]:
    ctx.logins.pop(request.session.get(SESSION_KEY))
    request.session.clear()
    await ctx.login.revoke(login.access_token)
    await ctx.audit.record("web_logout", success=True, user_id=login.person.user_id)
    return {"ok": True}


@router.get("/api/me")
async def me(ctx: Context, login: Viewer) -> dict[str, object]:
    person = login.person
    is_admin = await ctx.core.access.is_admin(actor_of(ctx, login))
    return {"id": str(person.user_id), "name": person.name, "admin": is_admin, "csrf": login.csrf_token}
