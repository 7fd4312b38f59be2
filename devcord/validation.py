"""Request-body checks that Discord makes on messages (Message resource, Embed limits, Components)."""

from __future__ import annotations

from typing import Any

from devcord import forms as F
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
    check_message_types(body)
    content = body.get("content")
    if content is not None and len(content) > MAX_CONTENT:
        raise form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
    embeds = body.get("embeds") or []
    _check_embeds(embeds)
    _check_components(body.get("components") or [])
    if creating and not (content or embeds or has_files or body.get("components") or body.get("sticker_ids")):
        raise ApiError(400, CANNOT_SEND_EMPTY_MESSAGE, "Cannot send an empty message")


def check_message_types(body: Json) -> None:
    """Every field devcord reads from a message body has the type Discord's form parser wants (the
    Message resource's JSON params), so later code can index it safely."""
    F.optional(body, "content", F.string)
    F.optional(body, "flags", F.integer)
    F.optional(body, "tts", F.boolean)
    F.optional(body, "enforce_nonce", F.boolean)
    nonce = body.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        F.integer(nonce, "nonce")
    for i, embed in enumerate(F.optional(body, "embeds", F.objects) or []):
        at = f"embeds.{i}."
        for key in ("type", "title", "description", "url"):
            F.optional(embed, key, F.string, at)
        for j, fld in enumerate(F.optional(embed, "fields", F.objects, at) or []):
            for key in ("name", "value"):
                F.optional(fld, key, F.string, f"{at}fields.{j}.")
        for key, text in (("footer", "text"), ("author", "name")):
            part = F.optional(embed, key, F.obj, at)
            if part is not None:
                F.optional(part, text, F.string, f"{at}{key}.")
    _check_component_types(F.optional(body, "components", F.objects) or [], "components")
    mentions = F.optional(body, "allowed_mentions", F.obj)
    if mentions is not None:
        for i, item in enumerate(F.optional(mentions, "parse", F.array, "allowed_mentions.") or []):
            F.string(item, f"allowed_mentions.parse.{i}")
        for key in ("users", "roles"):
            for i, item in enumerate(F.optional(mentions, key, F.array, "allowed_mentions.") or []):
                F.snowflake(item, f"allowed_mentions.{key}.{i}")
        F.optional(mentions, "replied_user", F.boolean, "allowed_mentions.")
    reference = F.optional(body, "message_reference", F.obj)
    if reference is not None:
        for key in ("message_id", "channel_id", "guild_id"):
            F.optional(reference, key, F.snowflake, "message_reference.")
        F.optional(reference, "type", F.integer, "message_reference.")
        F.optional(reference, "fail_if_not_exists", F.boolean, "message_reference.")
    for i, attachment in enumerate(F.optional(body, "attachments", F.objects) or []):
        F.optional(attachment, "id", F.snowflake, f"attachments.{i}.")
        for key in ("filename", "description"):
            F.optional(attachment, key, F.string, f"attachments.{i}.")
    for i, sticker in enumerate(F.optional(body, "sticker_ids", F.array) or []):
        F.snowflake(sticker, f"sticker_ids.{i}")


def _check_component_types(items: list[Json], path: str) -> None:
    for i, item in enumerate(items):
        _check_component_type(item, f"{path}.{i}.")


def _check_component_type(item: Json, at: str) -> None:
    F.optional(item, "type", F.integer, at)
    F.optional(item, "custom_id", F.string, at)
    F.optional(item, "id", F.integer, at)
    _check_component_types(F.optional(item, "components", F.objects, at) or [], f"{at}components")
    accessory = F.optional(item, "accessory", F.obj, at)
    if accessory is not None:
        _check_component_type(accessory, f"{at}accessory.")


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
