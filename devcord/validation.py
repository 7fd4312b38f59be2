"""Request-body checks that Discord makes on messages (Message resource, Embed limits, Components)."""

from __future__ import annotations

from typing import Any

from devcord.errors import CANNOT_SEND_EMPTY_MESSAGE, ApiError, form_error

Json = dict[str, Any]

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
MAX_CUSTOM_ID = 100

_EMBED_LIMITS = {"title": 256, "description": 4096}
_FIELD_LIMITS = {"name": 256, "value": 1024}


def check_message(body: dict[str, Any], *, has_files: bool, creating: bool) -> None:
    content = body.get("content")
    if content is not None:
        if not isinstance(content, str):
            raise form_error("content", "BASE_TYPE_STRING", "Must be a string.")
        if len(content) > MAX_CONTENT:
            raise form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
    embeds = body.get("embeds") or []
    _check_embeds(embeds)
    _check_components(body.get("components") or [])
    if creating and not (content or embeds or has_files or body.get("components") or body.get("sticker_ids")):
        raise ApiError(400, CANNOT_SEND_EMPTY_MESSAGE, "Cannot send an empty message")


def _check_embeds(embeds: list[Any]) -> None:
    if len(embeds) > MAX_EMBEDS:
        raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        for key, limit in _EMBED_LIMITS.items():
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                raise form_error(
                    f"embeds.{i}.{key}", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                )
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise form_error(f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for j, fld in enumerate(fields):
            for key, limit in _FIELD_LIMITS.items():
                text = str(fld.get(key) or "")
                total += len(text)
                if len(text) > limit:
                    raise form_error(
                        f"embeds.{i}.fields.{j}.{key}",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
        total += len((embed.get("footer") or {}).get("text") or "")
        total += len((embed.get("author") or {}).get("name") or "")
    if total > MAX_EMBED_TOTAL:
        raise form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


def _check_components(rows: list[Any]) -> None:
    if len(rows) > MAX_ROWS:
        raise form_error("components", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROWS} or fewer in length.")
    for i, row in enumerate(rows):
        if row.get("type") != 1:
            continue
        children = row.get("components") or []
        if len(children) > MAX_BUTTONS_PER_ROW:
            raise form_error(
                f"components.{i}.components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."
            )
        for j, child in enumerate(children):
            custom_id = child.get("custom_id")
            if custom_id is not None and len(custom_id) > MAX_CUSTOM_ID:
                raise form_error(
                    f"components.{i}.components.{j}.custom_id",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {MAX_CUSTOM_ID} or fewer in length.",
                )


def stored_embeds(embeds: list[Json]) -> list[Json]:
    """Embeds as Discord returns them: every one has a `type` ("rich" unless the sender said otherwise)."""
    return [{"type": "rich", **embed} for embed in embeds]


def stored_components(components: list[Json]) -> list[Json]:
    """Components as Discord returns them: each has a numeric `id`, sequential in tree order where the
    sender gave none ("Component Reference > Anatomy of a Component")."""
    used = set(_ids(components))
    counter = 0

    def number(items: list[Json]) -> list[Json]:
        nonlocal counter
        out = []
        for original in items:
            item = dict(original)
            if "id" not in item:
                counter += 1
                while counter in used:
                    counter += 1
                item["id"] = counter
            if isinstance(item.get("components"), list):
                item["components"] = number(item["components"])
            if isinstance(item.get("accessory"), dict):
                item["accessory"] = number([item["accessory"]])[0]
            out.append(item)
        return out

    return number(components)


def _ids(items: list[Json]) -> list[int]:
    out: list[int] = []
    for item in items:
        if isinstance(item.get("id"), int):
            out.append(item["id"])
        out.extend(_ids(item.get("components") or []))
    return out
