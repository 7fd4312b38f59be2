"""Gateway v10 (Discord "Gateway" docs): HELLO, heartbeats, IDENTIFY, READY + GUILD_CREATE, dispatches
with sequence numbers, RESUME replay from a per-session buffer, RECONNECT and INVALID_SESSION.

Transport compression follows the `compress` query parameter: `zlib-stream` is one zlib context per
connection, every message flushed with Z_SYNC_FLUSH (so it ends in 00 00 ff ff); `zstd-stream` is used
only when the `zstandard` package is importable (that is when discord.py asks for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from devcord import intents as I
from devcord.model import Application, Event, Json
from devcord.world import World

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE, RESUME, RECONNECT = 0, 1, 2, 3, 4, 6, 7
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11

# Close codes ("Opcodes and Status Codes > Gateway Close Event Codes").
UNKNOWN_ERROR, UNKNOWN_OPCODE, DECODE_ERROR, NOT_AUTHENTICATED = 4000, 4001, 4002, 4003
AUTHENTICATION_FAILED, ALREADY_AUTHENTICATED, SESSION_TIMED_OUT = 4004, 4005, 4009
INVALID_INTENTS, DISALLOWED_INTENTS = 4013, 4014

REPLAY_BUFFER = 5000
# A heartbeat is acknowledged after a network's worth of delay, never within the same instant: discord.py
# (2.7) records a heartbeat's send time on its keep-alive thread only once that thread wakes after the
# send, so an ACK handled before then (devcord in the bots' own process) reads as a whole interval of
# latency and "Can't keep up" warnings. Real Discord is always at least a round trip away.
HEARTBEAT_ACK_DELAY_S = 0.05


def _compressor(kind: str | None) -> Callable[[bytes], bytes] | None:
    if kind == "zlib-stream":
        ctx = zlib.compressobj()
        return lambda raw: ctx.compress(raw) + ctx.flush(zlib.Z_SYNC_FLUSH)
    if kind == "zstd-stream":
        zstd: Any = importlib.import_module("zstandard")
        zctx = zstd.ZstdCompressor().compressobj()
        flush_mode = zstd.COMPRESSOBJ_FLUSH_BLOCK
        return lambda raw: bytes(zctx.compress(raw) + zctx.flush(flush_mode))
    return None


@dataclass
class Session:
    """What survives a dropped connection: identity, intents, sequence and the replay buffer."""

    id: str
    app: Application
    user_id: int
    intents: int
    shard: list[int] | None
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    conn: Connection | None = None

    def dispatch(self, name: str, data: Any) -> None:
        self.seq += 1
        text = json.dumps({"op": DISPATCH, "t": name, "s": self.seq, "d": data})
        self.buffer.append((self.seq, text))
        if self.conn is not None:
            self.conn.send_text(text)


class Connection:
    """One websocket: an ordered outbound queue drained by a writer task through the compressor."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.ws = ws
        self._compress = _compressor(compress)
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.session: Session | None = None
        self.last_heartbeat = time.monotonic()
        self.writer = asyncio.create_task(self._drain(), name="devcord-gateway-writer")
        self._pending_acks: set[asyncio.TimerHandle] = set()

    def send(self, payload: Json) -> None:
        self.send_text(json.dumps(payload))

    def send_text(self, text: str) -> None:
        self._queue.put_nowait(text)

    def ack_heartbeat(self, delay_s: float) -> None:
        """Send HEARTBEAT_ACK after `delay_s`, unless the connection has closed by then."""

        def ack() -> None:
            self._pending_acks.discard(handle)
            if not self.ws.closed and not self.writer.done():
                self.send({"op": HEARTBEAT_ACK})

        handle = asyncio.get_running_loop().call_later(delay_s, ack)
        self._pending_acks.add(handle)

    def discard(self) -> None:
        """Stop the writer and any pending ACK (the websocket has ended)."""
        for handle in self._pending_acks:
            handle.cancel()
        self._pending_acks.clear()
        self.writer.cancel()

    async def close(self, code: int, message: str = "") -> None:
        """Flush what is queued, then close with `code`."""
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await asyncio.wait_for(asyncio.shield(self.writer), timeout=2)
        await self.ws.close(code=code, message=message.encode())

    async def _drain(self) -> None:
        while True:
            text = await self._queue.get()
            if text is None or self.ws.closed:
                return
            try:
                if self._compress is None:
                    await self.ws.send_str(text)
                else:
                    await self.ws.send_bytes(self._compress(text.encode()))
            except ConnectionError:
                return


class Gateway:
    """All sessions of one devcord; listens to the world's events and serves the websocket route."""

    def __init__(self, world: World, *, heartbeat_interval_ms: int, url: Callable[[], str]) -> None:
        self.world = world
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.heartbeat_ack_delay_s = HEARTBEAT_ACK_DELAY_S
        self._url = url
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        world.listeners.append(self.on_event)

    # -- fan-out -------------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        for session in list(self.sessions.values()):
            if session.user_id not in event.viewers:
                continue
            needed = I.required_intent(event.name, in_guild=event.guild_id is not None)
            if needed and not session.intents & needed:
                continue
            session.dispatch(event.name, self._tailor(event, session))

    def _tailor(self, event: Event, session: Session) -> Json:
        """Without MESSAGE_CONTENT a bot sees guild messages as empty unless it wrote or is mentioned."""
        msg = event.message
        if msg is None or msg.guild_id is None or session.intents & I.MESSAGE_CONTENT:
            return event.data
        if msg.author_id == session.user_id or session.user_id in msg.mentions:
            return event.data
        return {**event.data, "content": "", "embeds": [], "attachments": [], "components": []}

    # -- faults --------------------------------------------------------------------------------------

    def sessions_of(self, user_id: int) -> list[Session]:
        return [s for s in self.sessions.values() if s.user_id == user_id]

    async def drop(self, user_id: int) -> int:
        """Cut the user's connections as a network failure would; sessions stay resumable."""
        count = 0
        for session in self.sessions_of(user_id):
            conn, session.conn = session.conn, None
            if conn is not None:
                count += 1
                conn.session = None
                await conn.ws.close(code=UNKNOWN_ERROR, message=b"dropped by devcord")
        return count

    def request_reconnect(self, user_id: int) -> int:
        count = 0
        for session in self.sessions_of(user_id):
            if session.conn is not None:
                session.conn.send({"op": RECONNECT, "d": None})
                count += 1
        return count

    def invalidate(self, user_id: int) -> int:
        count = 0
        for session in self.sessions_of(user_id):
            del self.sessions[session.id]
            if session.conn is not None:
                session.conn.send({"op": INVALID_SESSION, "d": False})
                session.conn.session = None
                count += 1
        return count

    async def close_all(self) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"devcord stopping")
            conn.discard()

    # -- the websocket -------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws, request.query.get("compress"))
        self.connections.add(conn)
        conn.send({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        watchdog = asyncio.create_task(self._watch_heartbeats(conn), name="devcord-heartbeat-watchdog")
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT and msg.type is not WSMsgType.BINARY:
                    break
                await self._receive(conn, msg.data)
        finally:
            watchdog.cancel()
            self.connections.discard(conn)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
            conn.discard()
        return ws

    async def _watch_heartbeats(self, conn: Connection) -> None:
        # Discord closes a connection whose client stopped heartbeating; allow one and a half intervals.
        interval = self.heartbeat_interval_ms / 1000
        while not conn.ws.closed:
            await asyncio.sleep(interval)
            if time.monotonic() - conn.last_heartbeat > interval * 1.5 + 1:
                log.info("gateway connection missed its heartbeat; closing")
                await conn.close(SESSION_TIMED_OUT, "Session timed out")
                return

    async def _receive(self, conn: Connection, raw: str | bytes) -> None:
        try:
            payload = json.loads(raw)
            op = payload["op"]
        except (ValueError, KeyError, TypeError):
            await conn.close(DECODE_ERROR, "Decode error")
            return
        data = payload.get("d")
        if op == HEARTBEAT:
            conn.last_heartbeat = time.monotonic()
            conn.ack_heartbeat(self.heartbeat_ack_delay_s)
        elif op == IDENTIFY:
            await self._identify(conn, data)
        elif op == RESUME:
            await self._resume(conn, data)
        elif conn.session is None:
            await conn.close(NOT_AUTHENTICATED, "Not authenticated")
        elif op == REQUEST_MEMBERS:
            self._request_members(conn.session, data)
        elif op in (PRESENCE, VOICE):
            pass
        else:
            await conn.close(UNKNOWN_OPCODE, "Unknown opcode")

    async def _identify(self, conn: Connection, data: Json) -> None:
        if conn.session is not None:
            await conn.close(ALREADY_AUTHENTICATED, "Already authenticated")
            return
        app = self.world.app_for_token(str(data.get("token", "")).removeprefix("Bot "))
        if app is None:
            await conn.close(AUTHENTICATION_FAILED, "Authentication failed")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents & ~I.ALL_KNOWN:
            await conn.close(INVALID_INTENTS, "Invalid intent(s)")
            return
        if intents & I.PRIVILEGED & ~app.privileged_intents:
            await conn.close(DISALLOWED_INTENTS, "Disallowed intent(s)")
            return
        session = Session(secrets.token_hex(16), app, app.bot_user_id, intents, data.get("shard"))
        self.sessions[session.id] = session
        session.conn = conn
        conn.session = session
        self._send_ready(session)

    def _send_ready(self, session: Session) -> None:
        world = self.world
        guilds = [g for g in world.guilds.values() if session.user_id in g.members]
        ready: Json = {
            "v": 10,
            "user": world.users[session.user_id].payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._url(),
            "application": {
                "id": str(session.app.id),
                "flags": I.application_flags(session.app.privileged_intents),
            },
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "user_settings": {},
            "auth": {},
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        session.dispatch("READY", ready)
        if not session.intents & I.GUILDS:
            return
        with_members = bool(session.intents & I.GUILD_MEMBERS)
        for guild in guilds:
            session.dispatch(
                "GUILD_CREATE", world.guild_create_payload(guild, session.user_id, with_members=with_members)
            )

    async def _resume(self, conn: Connection, data: Json) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq") or 0
        app = self.world.app_for_token(str(data.get("token", "")).removeprefix("Bot "))
        oldest = session.buffer[0][0] if session is not None and session.buffer else 1
        if session is None or app is not session.app or seq < oldest - 1 or seq > session.seq:
            # Discord: "the session may not be resumable": op 9 with d=false, client must IDENTIFY.
            conn.send({"op": INVALID_SESSION, "d": False})
            return
        if session.conn is not None and session.conn is not conn:
            old = session.conn
            old.session = None
            await old.ws.close(code=UNKNOWN_ERROR, message=b"session resumed elsewhere")
        session.conn = conn
        conn.session = session
        for event_seq, text in list(session.buffer):
            if event_seq > seq:
                conn.send_text(text)
        session.dispatch("RESUMED", {})

    def _request_members(self, session: Session, data: Json) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id", 0)))
        if guild is None or session.user_id not in guild.members:
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.user_id in wanted]
        elif data.get("query"):
            query = str(data["query"]).lower()
            members = [m for m in members if self.world.users[m.user_id].username.lower().startswith(query)]
        elif not session.intents & I.GUILD_MEMBERS:
            members = []
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: Json = {
            "guild_id": str(guild.id),
            "members": [self.world.member_payload(guild, m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
