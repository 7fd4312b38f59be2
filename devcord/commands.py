"""Application commands ("Interactions > Application Commands"): what bots register (global and per
guild; create or update one, bulk overwrite, list) and the lookup a user's `/command` goes through."""

from __future__ import annotations

from aiohttp import web

from devcord import forms as F
from devcord.errors import UNKNOWN_APPLICATION_COMMAND, form_error, missing_access, unknown
from devcord.http import CALLER, json_response, read_json, read_json_array, snowflake_param
from devcord.model import Application, Json
from devcord.world import World


class ApplicationCommands:
    """The command endpoints; commands are stored on their `Application` (global and per guild)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/applications/{application_id}/commands", self.list_commands),
            web.put("/applications/{application_id}/commands", self.overwrite_commands),
            web.post("/applications/{application_id}/commands", self.upsert_command),
            web.get("/applications/{application_id}/guilds/{guild_id}/commands", self.list_commands),
            web.put("/applications/{application_id}/guilds/{guild_id}/commands", self.overwrite_commands),
            web.post("/applications/{application_id}/guilds/{guild_id}/commands", self.upsert_command),
        ]

    def _command_app(self, request: web.Request) -> tuple[Application, dict[int, Json]]:
        app = request.get(CALLER)
        if not isinstance(app, Application) or str(app.id) != request.match_info["application_id"]:
            raise missing_access()
        if "guild_id" in request.match_info:
            guild = self.world.guild(snowflake_param(request, "guild_id"))
            if app.bot_user_id not in guild.members:
                raise missing_access()
            return app, app.guild_commands.setdefault(guild.id, {})
        return app, app.global_commands

    def _stored_command(
        self, app: Application, data: Json, guild_id: str | None, old: dict[int, Json], at: str = ""
    ) -> Json:
        """A command as stored and answered; `at` is the path of `data` in the request body ("0." for
        the first of a bulk overwrite), so form errors name the right field."""
        name = data.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            raise form_error(f"{at}name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        ctype = F.optional(data, "type", F.integer, at) or 1
        description = F.optional(data, "description", F.string, at) or ""
        if ctype == 1 and len(description) > 100:
            raise form_error(
                f"{at}description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        options = F.optional(data, "options", F.objects, at) or []
        permissions = F.optional(data, "default_member_permissions", F.snowflake, at)
        for key in ("dm_permission", "nsfw"):
            F.optional(data, key, F.boolean, at)
        for key in ("contexts", "integration_types"):
            for i, item in enumerate(F.optional(data, key, F.array, at) or []):
                F.integer(item, f"{at}{key}.{i}")
        existing = next((c for c in old.values() if c["name"] == name and c["type"] == ctype), None)
        command_id = int(existing["id"]) if existing else self.world.ids.next()
        stored: Json = {
            "id": str(command_id),
            "application_id": str(app.id),
            "version": str(self.world.ids.next()),
            "type": ctype,
            "name": name,
            "description": description,
            "options": options,
            "default_member_permissions": None if permissions is None else str(permissions),
            "dm_permission": data.get("dm_permission", True),
            "nsfw": bool(data.get("nsfw")),
            "contexts": data.get("contexts"),
            "integration_types": data.get("integration_types") or [0],
            "name_localizations": data.get("name_localizations"),
            "description_localizations": data.get("description_localizations"),
        }
        if guild_id is not None:
            stored["guild_id"] = guild_id
        return stored

    async def list_commands(self, request: web.Request) -> web.Response:
        _, commands = self._command_app(request)
        return json_response(list(commands.values()))

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        app, commands = self._command_app(request)
        body = await read_json_array(request)
        guild_id = request.match_info.get("guild_id")
        fresh = [
            self._stored_command(app, F.obj(item, str(i)), guild_id, commands, f"{i}.")
            for i, item in enumerate(body)
        ]
        commands.clear()
        commands.update({int(c["id"]): c for c in fresh})
        return json_response(fresh)

    async def upsert_command(self, request: web.Request) -> web.Response:
        app, commands = self._command_app(request)
        stored = self._stored_command(
            app, await read_json(request), request.match_info.get("guild_id"), commands
        )
        created = int(stored["id"]) not in commands
        commands[int(stored["id"])] = stored
        return json_response(stored, status=201 if created else 200)

    def find(self, name: str, guild_id: int | None, app_name: str | None) -> tuple[Application, Json]:
        """The chat-input command `name` a user can run in `guild_id` (guild commands before global
        ones), of the application `app_name` when given."""
        for app in self.world.apps.values():
            if app_name is not None and app.name != app_name:
                continue
            pools = [app.guild_commands.get(guild_id, {})] if guild_id is not None else []
            for pool in [*pools, app.global_commands]:
                for command in pool.values():
                    if command["name"] == name and command["type"] == 1:
                        return app, command
        raise unknown(UNKNOWN_APPLICATION_COMMAND, "application command")
