"""devcord's exception tree.

`DevcordError` is the one base callers catch. `ApiError` is what a Discord REST handler raises to answer
with Discord's JSON error body; `ScenarioError` means a scenario file could not be loaded.
"""

from __future__ import annotations

from typing import Any


class DevcordError(Exception):
    """Base of every error devcord raises on purpose."""


class ScenarioError(DevcordError):
    """The scenario (YAML file or dict) is malformed or refers to something it does not declare."""


class ApiError(DevcordError):
    """A Discord API error: HTTP status plus Discord's JSON error code, message and optional `errors` tree."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def explained(self) -> str:
        """The message plus every field error, e.g. "Invalid Form Body: data.options.0.value: Value 'x'
        is not int." — for the driver's answers, which a person reads."""
        details: list[str] = []

        def walk(node: Any, path: list[str]) -> None:
            if not isinstance(node, dict):
                return
            for error in node.get("_errors") or []:
                details.append(f"{'.'.join(path)}: {error.get('message')}")
            for key, child in node.items():
                if key != "_errors":
                    walk(child, [*path, key])

        walk(self.errors, [])
        return f"{self.message}: {'; '.join(details)}" if details else self.message

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


# Discord's documented JSON error codes, named as the docs name them.
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_OVERWRITE = 10009
UNKNOWN_ROLE = 10011
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_BAN = 10026
UNKNOWN_INTERACTION = 10062
UNKNOWN_APPLICATION_COMMAND = 10063
MISSING_ACCESS = 50001
CANNOT_SEND_EMPTY_MESSAGE = 50006
CANNOT_EDIT_OTHERS_MESSAGE = 50005
INVALID_FORM_BODY = 50035
MISSING_PERMISSIONS = 50013
INVALID_WEBHOOK_TOKEN = 50027
ALREADY_ACKNOWLEDGED = 40060


def unknown(code: int, what: str) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


def missing_access() -> ApiError:
    return ApiError(403, MISSING_ACCESS, "Missing Access")


def missing_permissions() -> ApiError:
    return ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")


def unauthorized() -> ApiError:
    return ApiError(401, 0, "401: Unauthorized")


def form_error(path: str, code: str, message: str) -> ApiError:
    """Invalid Form Body with Discord's nested `errors` structure: {"a": {"0": {"_errors": [...]}}}."""
    tree: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        tree = {part: tree}
    return ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", tree)
