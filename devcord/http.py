"""HTTP plumbing shared by the Discord API and the driver API: JSON responses, body parsing."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import BodyPartReader, web

from devcord.errors import ApiError, form_error
from devcord.forms import objects, optional, snowflake, string
from devcord.model import Application, Attachment, media_type
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


async def _parsed_json(request: web.Request) -> Any:
    try:
        # Not `request.json()` alone: bytes that are not UTF-8 are invalid JSON too (a ValueError).
        return json.loads(await request.read())
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


async def read_json(request: web.Request) -> dict[str, Any]:
    """A JSON object body (no body: an empty one)."""
    if not request.can_read_body:
        return {}
    data = await _parsed_json(request)
    if not isinstance(data, dict):
        raise form_error("_root", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    return data


async def read_json_array(request: web.Request) -> list[Any]:
    """A JSON array body, e.g. Bulk Overwrite Application Commands (no body: an empty one)."""
    if not request.can_read_body:
        return []
    data = await _parsed_json(request)
    if not isinstance(data, list):
        raise form_error("_root", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
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
            try:
                payload = json.loads(await part.text())
            except ValueError:
                raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
            if not isinstance(payload, dict):
                raise form_error("_root", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        elif name.startswith("files[") and name.endswith("]") and name[6:-1].isdigit():
            index = int(name[6:-1])
            content_type = part.headers.get("Content-Type")
            files[index] = Attachment(
                ids.next(), part.filename or f"file{index}", content_type, await part.read()
            )
    attachments: list[Attachment] = []
    described = {
        snowflake(a.get("id", i), f"attachments.{i}.id"): a
        for i, a in enumerate(objects(payload.get("attachments") or [], "attachments"))
    }
    for index in sorted(files):
        att = files[index]
        meta = described.get(index) or {}
        att.filename = optional(meta, "filename", string) or att.filename
        att.description = optional(meta, "description", string)
        att.content_type = media_type(att.filename, att.content_type)
        attachments.append(att)
    return payload, attachments


def int_query(request: web.Request, name: str, default: int) -> int:
    """An integer (or snowflake) query parameter; anything else is Discord's NUMBER_TYPE_COERCE."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise form_error(name, "NUMBER_TYPE_COERCE", f'Value "{raw[:40]}" is not int.') from None


def snowflake_param(request: web.Request, name: str) -> int:
    """A snowflake from the URL path; anything else is Discord's NUMBER_TYPE_COERCE form error."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise form_error(name, "NUMBER_TYPE_COERCE", "Value is not snowflake.") from None
