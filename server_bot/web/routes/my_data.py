"""A person's own data on the web: download it (GET) or delete it (POST, CSRF, a typed confirmation).

Both call the core's `UserData`, as `/chat forget` and `/chat export` do on Discord. A delete also ends
every web sign-in of that person: nothing of them is left to be signed in as.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from server_bot.core import EXPORT_FILENAME
from server_bot.web.deps import Context, Viewer, actor_of
from server_bot.web.errors import ConfirmationRequired

router = APIRouter(prefix="/api/me/data")

# What the person types (or the page sends after its "Are you sure?" step) to confirm a delete.
CONFIRMATION = "delete my data"


class ForgetRequest(BaseModel):
    confirm: str = ""


@router.get("", response_model=None)
async def download_my_data(ctx: Context, login: Viewer) -> Response:
    document = await ctx.core.user_data.export(actor_of(ctx, login))
    headers = {
        "Content-Disposition": f'attachment; filename="{EXPORT_FILENAME}"',
        "Cache-Control": "no-store",
    }
    return Response(document, media_type="application/json", headers=headers)


@router.post("/forget")
async def delete_my_data(
    body: ForgetRequest, request: Request, ctx: Context, login: Viewer
) -> dict[str, int | bool]:
    if body.confirm.strip().lower() != CONFIRMATION:
        raise ConfirmationRequired(f'Type "{CONFIRMATION}" to confirm; nothing was deleted.')
    report = await ctx.core.user_data.forget(actor_of(ctx, login))
    ctx.logins.drop_user(login.person.user_id)
    request.session.clear()
    await ctx.login.revoke(login.access_token)
    return {"ok": True, "sessions": report.sessions, "messages": report.messages}
