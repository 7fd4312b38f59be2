"""The admin dashboard's API (AI Admin only: every route depends on `Admin`, so anyone else gets 403).

Every action goes through the core (which checks the admin capability again) and is audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from server_bot.core import AuditQuery
from server_bot.metrics_chart import KINDS, period, render_png, summarise
from server_bot.web.deps import Admin, Context, actor_of
from server_bot.web.render import session_json

router = APIRouter(prefix="/api/admin")
Toggle = Literal["requests_paused", "fallback_enabled"]


class BanRequest(BaseModel):
    user_id: int


class ToggleRequest(BaseModel):
    enabled: bool


@router.get("/overview")
async def overview(ctx: Context, login: Admin) -> dict[str, Any]:
    core, actor = ctx.core, actor_of(ctx, login)
    return {
        "hosts": [
            {
                "id": str(host.user_id),
                "name": f"{host.model} ({host.user_id})",
                "model": host.model,
                "online": host.online,
                "draining": host.draining,
                "load": f"{host.in_flight} in flight / {host.slots} slots, queue {host.queue_depth}",
                "tokens_per_s": round(host.tokens_per_s, 1) if host.online else None,
                "last_seen_s_ago": None if host.last_seen_s_ago is None else round(host.last_seen_s_ago, 1),
            }
            for host in await core.hosts.status(actor)
        ],
        "open_sessions": len(await core.oversight.open_sessions(actor)),
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
    query = AuditQuery(event, user_id, success, since, until, limit)
    rows = await ctx.core.oversight.audit_events(actor_of(ctx, login), query)
    return [
        {
            "created_at": e.at.isoformat(),
            "event": e.event,
            "command": e.command,
            "user_id": str(e.user_id) if e.user_id is not None else None,
            "success": e.success,
            "detail": e.detail,
        }
        for e in rows
    ]


@router.get("/sessions")
async def open_sessions(ctx: Context, login: Admin) -> list[dict[str, Any]]:
    sessions = await ctx.core.oversight.open_sessions(actor_of(ctx, login))
    return [{**session_json(s), "owner_id": str(s.owner_id)} for s in sessions]


@router.get("/bans")
async def banned_users(ctx: Context, login: Admin) -> list[dict[str, Any]]:
    users = await ctx.core.oversight.banned_users(actor_of(ctx, login))
    return [{"user_id": str(u.id), "banned": u.banned} for u in users]


# The core audits each admin action itself (event `admin_action`), whichever front asked.


@router.post("/bans")
async def ban(body: BanRequest, ctx: Context, login: Admin) -> dict[str, Any]:
    user = await ctx.core.access.ban(body.user_id, by=actor_of(ctx, login))
    ctx.logins.drop_user(body.user_id)
    return {"user_id": str(user.id), "banned": user.banned}


@router.delete("/bans/{user_id}")
async def unban(user_id: int, ctx: Context, login: Admin) -> dict[str, Any]:
    user = await ctx.core.access.unban(user_id, by=actor_of(ctx, login))
    return {"user_id": str(user.id), "banned": user.banned}


@router.put("/toggles/{name}")
async def toggle(name: Toggle, body: ToggleRequest, ctx: Context, login: Admin) -> dict[str, bool]:
    actor = actor_of(ctx, login)
    if name == "requests_paused":
        await ctx.core.access.set_paused(actor, body.enabled)
    else:
        await ctx.core.access.set_fallback(actor, body.enabled)
    return {name: body.enabled}
