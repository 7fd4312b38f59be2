"""Fuzzing for a bounded time: the relay's decoders must only ever raise their documented errors, and
devcord's REST API must answer malformed JSON and wrong types with 4xx, never 5xx.

    python -m tests.reliability.fuzz --seconds 120

Decoders (hypothesis, with inputs that start valid and are then damaged, so the deep paths are reached):
`open_envelope` -> only `EnvelopeError`; `from_content` / `from_attachment` (the Discord form) -> only
`EnvelopeError`; `protocol.decode` -> only `ProtocolError`. The test suite runs the same targets briefly
(tests/reliability/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NonInteractiveExampleWarning

from shared import protocol
from shared.envelope import (
    TEXT_PREFIX,
    Direction,
    EnvelopeError,
    KeyRing,
    encode_text,
    from_attachment,
    from_content,
    open_envelope,
    seal_envelope,
)

RING = KeyRing(bytes(range(32)))
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)


@st.composite
def damaged_envelopes(draw: st.DrawFn) -> bytes:
    blob = seal_envelope(
        RING,
        direction=draw(st.sampled_from(list(Direction))),
        session_id=uuid.UUID(int=draw(st.integers(0, 2**128 - 1))),
        kind=draw(st.integers(0, 255)),
        seq=draw(st.integers(0, 2**40)),
        payload=draw(st.binary(max_size=300)),
    )
    data = bytearray(blob)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


def _only(allowed: type[Exception], call: Callable[[], Any]) -> None:
    with contextlib.suppress(allowed):
        call()


@given(st.binary(max_size=2000) | damaged_envelopes())
def fuzz_open_envelope(blob: bytes) -> None:
    _only(EnvelopeError, lambda: open_envelope(RING, blob))


@given(
    st.text(max_size=400)
    | st.text(alphabet=_B64, max_size=600).map(lambda body: TEXT_PREFIX + body)
    | damaged_envelopes().map(encode_text)
)
def fuzz_from_content(text: str) -> None:
    _only(EnvelopeError, lambda: open_envelope(RING, from_content(text)))


@given(st.binary(max_size=3000) | damaged_envelopes())
def fuzz_from_attachment(data: bytes) -> None:
    _only(EnvelopeError, lambda: open_envelope(RING, from_attachment(data)))


@given(
    st.integers(-5, 300),
    st.binary(max_size=500)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.dictionaries(
        st.sampled_from(["request_id", "messages", "params", "text", "offset", "code", "role", "content"]),
        json_values,
    ).map(lambda v: json.dumps(v).encode()),
)
def fuzz_protocol_decode(kind: int, data: bytes) -> None:
    _only(protocol.ProtocolError, lambda: protocol.decode(kind, data))


DECODER_TARGETS: dict[str, Callable[..., None]] = {
    "open_envelope": fuzz_open_envelope,
    "discord_form.from_content": fuzz_from_content,
    "discord_form.from_attachment": fuzz_from_attachment,
    "protocol.decode": fuzz_protocol_decode,
}


def decoder(name: str, examples: int) -> Callable[[], None]:
    """One decoder target that tries `examples` fresh inputs per call; a crash raises (with the input)."""
    return settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )(DECODER_TARGETS[name])


# -- devcord's REST input validation ----------------------------------------------------------------

REST_ROUTES = [
    ("POST", "/channels/{channel}/messages"),
    ("PATCH", "/channels/{channel}/messages/{message}"),
    ("PATCH", "/channels/{channel}"),
    ("POST", "/guilds/{guild}/channels"),
    ("PUT", "/channels/{channel}/permissions/{user}"),
    ("POST", "/guilds/{guild}/roles"),
    ("PATCH", "/guilds/{guild}/members/{user}"),
    ("PUT", "/guilds/{guild}/bans/{user}"),
    ("POST", "/users/@me/channels"),
    ("PUT", "/applications/{app}/guilds/{guild}/commands"),
    ("POST", "/applications/{app}/commands"),
]
FIELDS = [
    "content", "name", "type", "parent_id", "permission_overwrites", "allow", "deny", "id", "roles",
    "nick", "embeds", "components", "allowed_mentions", "message_reference", "attachments", "flags",
    "recipient_id", "options", "description", "permissions", "topic", "position", "delete_message_seconds",
]  # fmt: skip


@st.composite
def rest_bodies(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=200))  # not JSON at all
    if choice == 1:
        return draw(st.text(max_size=80)).encode()  # text, often truncated JSON
    if choice == 2:
        return json.dumps(draw(json_values)).encode()  # JSON of the wrong shape
    body = draw(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6))
    return json.dumps(body).encode()  # the right fields with wrong types


def _example_body() -> bytes:
    # `.example()` outside @given is what is wanted here: a stream of inputs, no shrinking.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        return rest_bodies().example()


async def fuzz_devcord_rest(seconds: float, *, max_requests: int | None = None) -> dict[str, Any]:
    """Send damaged requests to an in-process devcord; returns counts and every 5xx seen."""
    from devcord import Devcord  # noqa: PLC0415 — devcord only for this target
    from devcord.testing import Driver, demo_scenario  # noqa: PLC0415

    scenario = demo_scenario()
    # Rate limits high enough that every request reaches its handler (a 429 tests nothing here).
    scenario["rate_limits"] = {
        "global_per_second": 1_000_000,
        **{name: {"limit": 1_000_000, "per": 1.0} for name in ("message_create", "message_edit", "default")},
    }
    server = Devcord(scenario)
    await server.start("127.0.0.1", 0)
    statuses: dict[int, int] = {}
    failures: list[str] = []
    sent = 0
    # The fuzzed requests come from the demo's server-bot (its token is generated per world).
    bot = next(app for app in server.world.apps.values() if app.name == "server-bot")
    try:
        async with Driver(server.base_url) as driver:
            state = await driver.state()
            guild = state["guilds"][0]
            ids = {
                "guild": guild["id"],
                "channel": next(c["id"] for c in guild["channels"] if c["name"] == "general"),
                "user": str(await driver.user_id("alice")),
                "app": str(bot.id),
            }
            posted = await driver.post(ids["channel"], "alice", "hello")
            ids["message"] = posted["id"]
        headers = {"Authorization": f"Bot {bot.token}", "Content-Type": "application/json"}
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline and (max_requests is None or sent < max_requests):
                for method, template in REST_ROUTES:
                    body = _example_body()
                    url = server.api_base + template.format(**ids)
                    async with session.request(method, url, data=body, headers=headers) as resp:
                        statuses[resp.status] = statuses.get(resp.status, 0) + 1
                        if resp.status >= 500:
                            failures.append(f"{method} {template} {body[:120]!r} -> {resp.status}")
                    sent += 1
    finally:
        await server.stop()
    return {"sent": sent, "statuses": statuses, "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(prog="fuzz", description="Bounded-time fuzzing (see module doc).")
    parser.add_argument("--seconds", type=float, default=60.0, help="per target")
    args = parser.parse_args()
    crashed = 0
    for name in DECODER_TARGETS:
        started, rounds = time.monotonic(), 0
        target = decoder(name, 500)
        try:
            while time.monotonic() - started < args.seconds:
                target()
                rounds += 1
            print(
                f"{name}: ~{rounds * 500} inputs in {time.monotonic() - started:.0f}s, 0 crashes", flush=True
            )
        except Exception as exc:  # the crash is the finding; hypothesis printed the input
            crashed += 1
            print(f"{name}: CRASH {type(exc).__name__}: {exc}", flush=True)
    result = asyncio.run(fuzz_devcord_rest(args.seconds))
    print(
        f"devcord REST: {result['sent']} requests, statuses {result['statuses']}, "
        f"5xx: {len(result['failures'])}"
    )
    for failure in result["failures"][:20]:
        print(f"   {failure}")
    raise SystemExit(1 if crashed or result["failures"] else 0)


if __name__ == "__main__":
    main()
