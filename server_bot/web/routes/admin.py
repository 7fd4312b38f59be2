"""The admin dashboard's API (AI Admin only: every route depends on `Admin`, so anyone else gets 403).

Every action goes through the core (which checks the admin capability again) and is audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from server_bot.metrics_chart import KINDS, period, render_png, summarise
from server_bot.web.deps import Admin, Context, actor_of

router = APIRouter(prefix="/api/admin")
Toggle = Literal["requests_paused", "fallback_enabled"]
# The repository returns the newest audit events for one user or all; the finer filters are applied to
# this many of the newest ones.
AUDIT_WINDOW = 1000


class BanRequest(BaseModel):
    user_id: int


class ToggleRequest(BaseModel):
    enabled: bool


@router.get("/overview")
async def overview(ctx: Context, login: Admin) -> dict[str, Any]:
    core, relay = ctx.core, ctx.relay
    host = relay.client
    online = relay.client_online()
    return {
        "hosts": [
            {
                "name": host.model if host is not None else "client-bot",
                "online": online,
                "load": f"queue {host.queue_depth if host else 0}, {relay.in_flight} in flight",
                "tokens_per_s": round(host.tokens_per_s, 1) if host is not None and online else None,
            }
        ],
        "open_sessions": await core.repo.count_open_sessions(),
        "toggles": {
            "requests_paused": await core.access.paused(),
            "fallback_enabled": await core.access.fallback_enabled(),
        },
    }


@router.get("/metrics.png")
async def metrics(ctx: Context, login: Admin, window: Literal["24h", "7d", "30d"] = "24h") -> Response:
    chosen = period(window)
    end = datetime.now(UTC)
    start = end - chosen.length
    samples = await ctx.core.repo.metric_samples(start, end, KINDS)
    png = await asyncio.to_thread(render_png, summarise(samples, start, chosen))
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/audit")
async def audit(  # noqa: PLR0917 (each filter is a query parameter)
    ctx: Context,
    login: Admin,
    event: str | None = None,
    user_id: int | None = None,
    success: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    events = await ctx.core.repo.recent_audit_events(AUDIT_WINDOW, user_id)
    rows = [
        e
        for e in events
        if (event is None or e.event == event)
        and (success is None or e.success == success)
        and (since is None or e.at >= _aware(since))
        and (until is None or e.at <= _aware(until))
    ]
    return [
        {
            "created_at": e.at.isoformat(),
            "event": e.event,
            "command": e.command,
            "user_id": str(e.user_id) if e.user_id is not None else None,
            "success": e.success,
            "detail": e.detail,
        }
        for e in rows[: max(1, min(limit, AUDIT_WINDOW))]
    ]


@router.post("/bans")
async def ban(body: BanRequest, ctx: Context, login: Admin) -> dict[str, Any]:
    async with ctx.audit.timed("web_admin", command="ban", user_id=login.person.user_id):
        user = await ctx.core.access.ban(body.user_id, by=actor_of(ctx, login))
    ctx.logins.drop_user(body.user_id)
    return {"user_id": str(user.id), "banned": user.banned}


@router.delete("/bans/{user_id}")
async def unban(user_id: int, ctx: Context, login: Admin) -> dict[str, Any]:
    async with ctx.audit.timed("web_admin", command="unban", user_id=login.person.user_id):
        user = await ctx.core.access.unban(user_id, by=actor_of(ctx, login))
    return {"user_id": str(user.id), "banned": user.banned}


@router.put("/toggles/{name}")
async def toggle(name: Toggle, body: ToggleRequest, ctx: Context, login: Admin) -> dict[str, bool]:
    actor = actor_of(ctx, login)
    async with ctx.audit.timed("web_admin", command=f"toggle.{name}", user_id=login.person.user_id):
        if name == "requests_paused":
            await ctx.core.access.set_paused(actor, body.enabled)
        else:
            await ctx.core.access.set_fallback(actor, body.enabled)
    return {name: body.enabled}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
