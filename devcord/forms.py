"""Typed readers for request-body fields: a value of the wrong type is Discord's 400 "Invalid Form Body"
(50035) naming the field's path, never a crash of the handler that uses it.

Each reader takes the value and its dotted path (e.g. "permission_overwrites.0.allow") and returns it
converted, as Discord's form parser does: snowflakes and integers may come as numbers or numeric strings
(discord.py sends both), booleans only as JSON booleans.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from devcord.errors import form_error

Json = dict[str, Any]
T = TypeVar("T")

# Snowflakes and Discord's integers are 64-bit; a bigger number is not one.
_MAX_INT = 2**64 - 1


def _shown(value: Any) -> str:
    return str(value)[:40]


def snowflake(value: Any, path: str) -> int:
    number = _number(value)
    if number is None or not 0 <= number <= _MAX_INT:
        raise form_error(path, "NUMBER_TYPE_COERCE", f'Value "{_shown(value)}" is not snowflake.')
    return number


def integer(value: Any, path: str) -> int:
    number = _number(value)
    if number is None or not -_MAX_INT <= number <= _MAX_INT:
        raise form_error(path, "NUMBER_TYPE_COERCE", f'Value "{_shown(value)}" is not int.')
    return number


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and value.isascii():
        return int(value)
    return None


def string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise form_error(path, "BASE_TYPE_STRING", "Must be a string.")
    return value


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise form_error(path, "BASE_TYPE_BOOLEAN", "Must be either true or false.")
    return value


def obj(value: Any, path: str) -> Json:
    if not isinstance(value, dict):
        raise form_error(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    return value


def array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise form_error(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    return value


def objects(value: Any, path: str) -> list[Json]:
    """A list whose every item is an object."""
    return [obj(item, f"{path}.{i}") for i, item in enumerate(array(value, path))]


def optional(body: Json, key: str, reader: Callable[[Any, str], T], prefix: str = "") -> T | None:
    """`reader(body[key])` when the key is present and not null, else None; `prefix` is the path of
    `body` itself ("" at the root)."""
    value = body.get(key)
    return None if value is None else reader(value, f"{prefix}{key}")
