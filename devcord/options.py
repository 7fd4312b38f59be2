"""Slash-command option values as a Discord client sends them, checked the way Discord checks them
("Application Commands > Application Command Option Structure": types, `min_value`/`max_value`,
`min_length`/`max_length`, `choices`, `required`). A value that breaks a rule is refused with Discord's
Invalid Form Body (400, 50035) naming the option, before any bot sees an interaction."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from devcord.errors import ApiError, form_error
from devcord.model import Channel, Json

if TYPE_CHECKING:
    from devcord.world import World

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10
# Integers and numbers must fit in a double's exact range ("Application Command Option Type").
_MAX_SAFE = 2**53
_STRING_LIMIT = 6000


class OptionParser:
    """Turns `{name: value}` from the driver into the typed `data.options` (+ `resolved`) of an
    INTERACTION_CREATE for the command schema."""

    def __init__(self, world: World, invoker: int, channel: Channel) -> None:
        self.world = world
        self.invoker = invoker
        self.channel = channel
        self.resolved: Json = {}

    def parse(
        self, schema: list[Json], subpath: list[str], values: dict[str, Any], at: str = "data"
    ) -> list[Json]:
        if subpath:
            head, *rest = subpath
            for index, opt in enumerate(schema):
                if opt["name"] == head and opt["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP):
                    inner = self.parse(opt.get("options") or [], rest, values, f"{at}.options.{index}")
                    return [{"type": opt["type"], "name": head, "options": inner}]
            raise form_error(f"{at}.options", "SUBCOMMAND_NOT_FOUND", f"Unknown subcommand {head}.")
        known = {opt["name"] for opt in schema}
        for name in values:
            if name not in known:
                raise form_error(f"{at}.options", "OPTION_NOT_FOUND", f"Unknown option {name!r}.")
        out: list[Json] = []
        for opt in schema:
            if opt["name"] not in values:
                if opt.get("required"):
                    where = f"{at}.options.{len(out)}"
                    raise form_error(where, "BASE_TYPE_REQUIRED", f"Option {opt['name']!r} is required.")
                continue
            where = f"{at}.options.{len(out)}.value"
            out.append(
                {
                    "name": opt["name"],
                    "type": opt["type"],
                    "value": self.value(opt, values[opt["name"]], where),
                }
            )
        return out

    def value(self, opt: Json, raw: Any, where: str) -> Any:
        kind = opt["type"]
        if kind in (INTEGER, NUMBER):
            number = _number(raw, integer=kind == INTEGER, where=where)
            _check_range(opt, number, where)
            _check_choices(opt, number, where)
            return number
        if kind == BOOLEAN:
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            raise form_error(where, "BASE_TYPE_BOOLEAN", f"Value {raw!r} is not a boolean (true or false).")
        if kind == STRING:
            if not isinstance(raw, str):
                raise form_error(where, "BASE_TYPE_STRING", f"Value {raw!r} is not a string.")
            low, high = int(opt.get("min_length") or 0), int(opt.get("max_length") or _STRING_LIMIT)
            if len(raw) < low:
                raise form_error(where, "BASE_TYPE_MIN_LENGTH", f"Must be {low} or more in length.")
            if len(raw) > high:
                raise form_error(where, "BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length.")
            _check_choices(opt, raw, where)
            return raw
        return self._entity(opt, raw, where)

    def _entity(self, opt: Json, raw: Any, where: str) -> str:
        kind = opt["type"]
        try:
            if kind in (USER, MENTIONABLE):
                return self._user(raw)
            if kind == CHANNEL:
                return self._channel(raw, opt.get("channel_types"), where)
            if kind == ROLE:
                return self._role(raw)
        except ApiError as exc:
            if exc.status != 404:  # an unknown user/channel/role becomes this option's error
                raise
        raise form_error(
            where, "INVALID_OPTION_VALUE", f"Value {raw!r} is not a valid {_KIND_NAMES.get(kind, 'value')}."
        )

    def _user(self, raw: Any) -> str:
        user = self.world.user_named(raw)
        key = str(user.id)
        self.resolved.setdefault("users", {})[key] = user.payload()
        guild = self.world.guilds.get(self.channel.guild_id or 0)
        if guild is not None and user.id in guild.members:
            member = guild.members[user.id].payload()
            member["permissions"] = str(self.world.permissions(self.channel, user.id))
            self.resolved.setdefault("members", {})[key] = member
        return key

    def _channel(self, raw: Any, allowed_types: list[int] | None, where: str) -> str:
        target = self.world.channel_named(raw)
        if allowed_types and target.type not in allowed_types:
            raise form_error(where, "CHANNEL_TYPE_INVALID", f"Channel {raw!r} is not of an allowed type.")
        entry = self.world.channel_payload(target)
        entry["permissions"] = str(self.world.permissions(target, self.invoker))
        self.resolved.setdefault("channels", {})[str(target.id)] = entry
        return str(target.id)

    def _role(self, raw: Any) -> str:
        guild = self.world.guilds.get(self.channel.guild_id or 0)
        role = (
            None
            if guild is None
            else next((r for r in guild.roles.values() if r.name == raw or str(r.id) == str(raw)), None)
        )
        if role is None:
            raise ApiError(404, 10011, "Unknown Role")
        self.resolved.setdefault("roles", {})[str(role.id)] = role.payload()
        return str(role.id)


_KIND_NAMES = {USER: "user", MENTIONABLE: "user or role", CHANNEL: "channel", ROLE: "role"}


def _number(raw: Any, *, integer: bool, where: str) -> int | float:
    kind = "int" if integer else "number"
    if isinstance(raw, bool):
        raise form_error(where, "NUMBER_TYPE_COERCE", f"Value {raw!r} is not {kind}.")
    try:
        value: int | float
        if integer:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            value = int(raw) if not isinstance(raw, str) else int(raw.strip())
        else:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
    except (TypeError, ValueError):
        raise form_error(where, "NUMBER_TYPE_COERCE", f"Value {raw!r} is not {kind}.") from None
    if abs(value) > _MAX_SAFE:
        raise form_error(
            where, "NUMBER_TYPE_MAX", f"{kind} value should be less than or equal to {_MAX_SAFE}."
        )
    return value


def _check_range(opt: Json, value: float, where: str) -> None:
    low, high = opt.get("min_value"), opt.get("max_value")
    if low is not None and value < low:
        raise form_error(where, "NUMBER_TYPE_MIN", f"Value should be greater than or equal to {low}.")
    if high is not None and value > high:
        raise form_error(where, "NUMBER_TYPE_MAX", f"Value should be less than or equal to {high}.")


def _check_choices(opt: Json, value: Any, where: str) -> None:
    choices = opt.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        names = ", ".join(str(c["value"]) for c in choices)
        raise form_error(where, "BASE_TYPE_CHOICES", f"Value must be one of ({names}).")
