"""Discord's OpenAPI 3.1 description (tests/data/discord-openapi) as a response validator.

`Spec.check(method, path, status, body)` finds the operation whose path template matches `path`
(without the /api/v10 prefix), the response declared for `status` (exact, then `4XX`-style, then
`default`) and validates `body` against its JSON schema (2020-12, `$ref`s resolved with `referencing`
against the whole document). It returns the validation messages; an empty list means valid.

The spec and Discord's documentation disagree in a few places; those are patched in `_QUIRKS` below, each
with the reason. Everything else a devcord answer does not match is a devcord bug.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_DIR = Path(__file__).resolve().parents[1] / "data" / "discord-openapi"
_URI = "urn:discord-openapi"

Json = dict[str, Any]


def _apply_quirks(doc: Json) -> None:
    """Where the spec contradicts Discord's documented (and real) answers, follow the documentation."""
    schemas = doc["components"]["schemas"]
    # 1. Field errors: "Error Messages" in the Reference shows `errors.<field>._errors[].code` as a
    #    string ("BASE_TYPE_REQUIRED", ...); the spec reuses the top-level Error whose `code` is an integer.
    schemas["FieldError"] = {
        "type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        "required": ["code", "message"],
    }
    schemas["InnerErrors"]["properties"]["_errors"]["items"] = {"$ref": "#/components/schemas/FieldError"}
    # 2. 429 bodies: "Rate Limits > Exceeding A Rate Limit" documents `{message, retry_after, global}` with
    #    an optional `code`; the spec makes `code` required through Error.
    schemas["RatelimitedResponse"]["allOf"][0] = {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        "required": ["message"],
    }


@dataclass
class Operation:
    template: str
    method: str
    pattern: re.Pattern[str]
    responses: Json


class Spec:
    def __init__(self, directory: Path = SPEC_DIR) -> None:
        doc = json.loads((directory / "openapi.json").read_text())
        _apply_quirks(doc)
        self.doc = doc
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(_URI, resource)

    @cached_property
    def operations(self) -> list[Operation]:
        out = []
        for template, item in self.doc["paths"].items():
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    out.append(Operation(template, method.upper(), re.compile(f"^{regex}$"), op["responses"]))
        # Literal segments win over parameters (/users/@me before /users/{user_id}).
        out.sort(key=lambda o: o.template.count("{"))
        return out

    def operation(self, method: str, path: str) -> Operation | None:
        return next((o for o in self.operations if o.method == method and o.pattern.match(path)), None)

    def _at(self, pointer: str) -> Any:
        node: Any = self.doc
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def response_schema(self, op: Operation, status: int) -> str | None:
        """A JSON pointer to the schema for `status`; None when that status has no JSON body."""
        key = next(
            (k for k in (str(status), f"{str(status)[0]}XX", "default") if k in op.responses),
            None,
        )
        if key is None:
            raise LookupError(f"{op.method} {op.template}: status {status} is not declared")
        escaped = op.template.replace("~", "~0").replace("/", "~1")
        pointer = f"/paths/{escaped}/{op.method.lower()}/responses/{key}"
        response = op.responses[key]
        if "$ref" in response:
            pointer = response["$ref"].removeprefix("#")
            response = self._at(pointer)
        if "application/json" not in response.get("content", {}):
            return None
        return f"{pointer}/content/application~1json/schema"

    def validate(self, pointer: str, body: Any) -> list[str]:
        validator = Draft202012Validator({"$ref": f"{_URI}#{pointer}"}, registry=self.registry)
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in _leaves(validator, body)
        ]

    def check(self, method: str, path: str, status: int, body: Any) -> list[str]:
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in the spec"]
        try:
            pointer = self.response_schema(op, status)
        except LookupError as exc:
            return [str(exc)]
        if pointer is None:
            return [] if body is None else [f"status {status} has no body in the spec"]
        if body is None:
            return [f"status {status} needs a JSON body"]
        return self.validate(pointer, body)


def _leaves(validator: Draft202012Validator, body: Any) -> list[Any]:
    """The most specific errors (oneOf/anyOf failures explained by their best sub-error)."""
    errors = list(validator.iter_errors(body))
    out = []
    for error in errors:
        out.append(best_match([error]) if error.context else error)
    return out
