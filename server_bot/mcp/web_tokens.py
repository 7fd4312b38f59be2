"""Personal access tokens on the web app: `/api/tokens` for the signed-in person (list, create — the token
is in the answer once — and revoke). Served by the web app (its sign-in, CSRF and limits apply)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from server_bot.mcp.tokens import TokenError, TokenInfo, TokenNotFound, TokenStore
from server_bot.web.deps import Context, Viewer
from server_bot.web.errors import NotFound, WebError


class NewTokenRequest(BaseModel):
    scopes: list[str] = Field(min_length=1, max_length=3, description="chat, transcripts, admin")
    name: str = Field(default="mcp", min_length=1, max_length=64)


def token_router(store: TokenStore) -> APIRouter:
    router = APIRouter(prefix="/api/tokens")

    @router.get("")
    async def list_tokens(ctx: Context, login: Viewer) -> list[dict[str, Any]]:
        return [_json(info) for info in await store.list_for(login.person.user_id)]

    @router.post("", status_code=201)
    async def create_token(body: NewTokenRequest, ctx: Context, login: Viewer) -> dict[str, Any]:
        async with ctx.audit.timed("mcp_token", command="create", user_id=login.person.user_id):
            try:
                new = await store.create(login.person.user_id, body.scopes, name=body.name)
            except TokenError as exc:
                raise WebError(str(exc)) from None
        return {**_json(new.info), "token": new.secret, "note": "Shown once: copy it now."}

    @router.delete("/{token_id}")
    async def revoke_token(token_id: int, ctx: Context, login: Viewer) -> dict[str, Any]:
        async with ctx.audit.timed("mcp_token", command="revoke", user_id=login.person.user_id):
            try:
                info = await store.revoke(login.person.user_id, token_id)
            except TokenNotFound:
                raise NotFound("No such token.") from None
        return _json(info)

    return router


def _json(info: TokenInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "scopes": sorted(info.scopes),
        "created_at": info.created_at.isoformat(),
        "last_used_at": None if info.last_used_at is None else info.last_used_at.isoformat(),
        "revoked_at": None if info.revoked_at is None else info.revoked_at.isoformat(),
    }
