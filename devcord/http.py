"""HTTP plumbing shared by the Discord API and the driver API: JSON responses, body parsing."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import BodyPartReader, web

from devcord.errors import ApiError, form_error
from devcord.model import Application, Attachment
from devcord.snowflake import SnowflakeFactory

# The bot application that authenticated the request (set by the server's Discord middleware).
CALLER: web.RequestKey[Application] = web.RequestKey("devcord_caller", Application)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py compares Content-Type to exactly "application/json" (no charset suffix).
    out = {"Content-Type": "application/json"}
    out.update(headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=out)


def no_content(headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=204, headers=headers or {})


async def read_json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
    if not isinstance(data, dict):
        raise form_error("_root", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    return data


async def read_message_body(
    request: web.Request, ids: SnowflakeFactory
) -> tuple[dict[str, Any], list[Attachment] | None]:
    """JSON, or multipart with `payload_json` and `files[n]` parts (Discord "Uploading Files")."""
    if not request.content_type.startswith("multipart/"):
        return await read_json(request), None
    reader = await request.multipart()
    payload: dict[str, Any] = {}
    files: dict[int, Attachment] = {}
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name or ""
        if name == "payload_json":
            payload = json.loads(await part.text())
        elif name.startswith("files["):
            index = int(name[6:-1])
            content_type = part.headers.get("Content-Type")
            files[index] = Attachment(
                ids.next(), part.filename or f"file{index}", content_type, await part.read()
            )
    attachments: list[Attachment] = []
    described = {int(a.get("id", i)): a for i, a in enumerate(payload.get("attachments") or [])}
    for index in sorted(files):
        att = files[index]
        meta = described.get(index) or {}
        att.filename = meta.get("filename") or att.filename
        att.description = meta.get("description")
        attachments.append(att)
    return payload, attachments


def snowflake_param(request: web.Request, name: str) -> int:
    """A snowflake from the URL path; anything else is Discord's NUMBER_TYPE_COERCE form error."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise form_error(name, "NUMBER_TYPE_COERCE", "Value is not snowflake.") from None
