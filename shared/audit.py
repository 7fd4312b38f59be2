"""The audit log: one JSON object per line, with a fixed set of typed fields and no free text.

Every record has exactly the fields ``timestamp`` (ISO-8601, UTC), ``level``, ``event``, ``command``,
``user_id``, ``channel_id``, ``success`` and ``latency_ms``, plus ``detail`` when one is given. The API is
shaped so that message text and secrets cannot get in by accident:

* ``event``, ``command`` and ``detail`` are *codes*, checked against ``^[a-z0-9_.:-]{1,64}$`` - no spaces,
  no capitals, short. A prompt, a token or an exception message does not fit that.
* ids are ints (not bools, not strings), so a mention string or a username cannot pass as one.
* a failure inside `AuditLog.timed` is recorded by its exception *class* (``exc:value_error``), never by
  its message, which may quote user input or a connection string.

Records go to the ``AUDIT_LOG_FILE`` (appended, line-buffered) and to any extra sinks - plain or async
callables taking an `AuditRecord` - such as the server-bot's database table. A failing sink is logged and
skipped: auditing must never break the command it audits.
"""

from __future__ import annotations

import inspect
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from shared.log import get_logger

log = get_logger(__name__)

CODE_PATTERN = re.compile(r"[a-z0-9_.:-]{1,64}")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

AuditSink = Callable[["AuditRecord"], Awaitable[None] | None]


class AuditError(Exception):
    """Base of the audit errors."""


class InvalidAuditField(AuditError, ValueError):
    """A field does not have the required shape; the message names the field, never its value."""


class AuditLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def _code(name: str, value: str | None, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise InvalidAuditField(f"audit field {name!r} is required")
        return None
    if not isinstance(value, str) or not CODE_PATTERN.fullmatch(value):
        raise InvalidAuditField(f"audit field {name!r} must match {CODE_PATTERN.pattern}")
    return value


def _snowflake(name: str, value: int | None) -> int | None:
    # bool is an int subclass; True as a user id is a bug, not an id.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidAuditField(f"audit field {name!r} must be a non-negative int or None")
    return value


def exception_code(exc: BaseException) -> str:
    """A safe code for an exception: its snake-cased class name (``KeyError`` -> ``exc:key_error``)."""
    snake = _CAMEL_BOUNDARY.sub("_", type(exc).__name__).lower()
    code = "exc:" + re.sub(r"[^a-z0-9_]", "_", snake)
    return code[:64]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit line. Build it through `AuditRecord.create` (or `AuditLog`), which validates every field."""

    timestamp: datetime
    level: AuditLevel
    event: str
    command: str | None
    user_id: int | None
    channel_id: int | None
    success: bool
    latency_ms: float | None
    detail: str | None = None

    @classmethod
    def create(
        cls,
        event: str,
        *,
        success: bool,
        command: str | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        latency_ms: float | None = None,
        detail: str | None = None,
        level: AuditLevel | None = None,
        timestamp: datetime | None = None,
    ) -> AuditRecord:
        if not isinstance(success, bool):
            raise InvalidAuditField("audit field 'success' must be a bool")
        if latency_ms is not None and (isinstance(latency_ms, bool) or latency_ms < 0):
            raise InvalidAuditField("audit field 'latency_ms' must be a non-negative number or None")
        when = timestamp or datetime.now(UTC)
        if when.tzinfo is None:
            raise InvalidAuditField("audit field 'timestamp' must be timezone-aware")
        return cls(
            timestamp=when.astimezone(UTC),
            level=AuditLevel(level) if level else (AuditLevel.INFO if success else AuditLevel.WARNING),
            event=str(_code("event", event, required=True)),
            command=_code("command", command, required=False),
            user_id=_snowflake("user_id", user_id),
            channel_id=_snowflake("channel_id", channel_id),
            success=success,
            latency_ms=None if latency_ms is None else round(float(latency_ms), 3),
            detail=_code("detail", detail, required=False),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "timestamp": self.timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": self.level.value,
            "event": self.event,
            "command": self.command,
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "success": self.success,
            "latency_ms": self.latency_ms,
        }
        if self.detail is not None:
            data["detail"] = self.detail
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=True)


@dataclass(slots=True)
class TimedAudit:
    """What `AuditLog.timed` yields: the body may mark the outcome as failed with a code."""

    success: bool = True
    detail: str | None = None

    def fail(self, detail: str | None = None) -> None:
        """Record this operation as failed (without raising), e.g. ``fail("rate_limited")``."""
        self.success = False
        self.detail = _code("detail", detail, required=False)

    def note(self, detail: str) -> None:
        """Attach a code to a successful record, e.g. ``note("fallback_reply")``."""
        self.detail = _code("detail", detail, required=True)


class AuditLog:
    """Writes `AuditRecord`s to a JSON-lines file and to extra sinks. Close it on shutdown."""

    def __init__(self, path: Path | None, sinks: Sequence[AuditSink] = ()) -> None:
        self._sinks: list[AuditSink] = list(sinks)
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Line-buffered append: each record reaches the OS as one whole line, even if the process dies.
            self._file = path.open("a", buffering=1, encoding="utf-8")

    def add_sink(self, sink: AuditSink) -> None:
        self._sinks.append(sink)

    async def write(self, record: AuditRecord) -> None:
        """Append `record` to the file and hand it to every sink; sink failures are logged, not raised."""
        if self._file is not None:
            self._file.write(record.to_json() + "\n")
        for sink in self._sinks:
            try:
                outcome = sink(record)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                # A broken sink (say, the database is down) must not fail the audited command.
                log.exception("audit sink %r failed for event %s", sink, record.event)

    async def record(
        self,
        event: str,
        *,
        success: bool,
        command: str | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        latency_ms: float | None = None,
        detail: str | None = None,
        level: AuditLevel | None = None,
    ) -> AuditRecord:
        """Validate and write one record; raises `InvalidAuditField` for a field of the wrong shape."""
        entry = AuditRecord.create(
            event,
            success=success,
            command=command,
            user_id=user_id,
            channel_id=channel_id,
            latency_ms=latency_ms,
            detail=detail,
            level=level,
        )
        await self.write(entry)
        return entry

    @asynccontextmanager
    async def timed(
        self,
        event: str,
        *,
        command: str | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
    ) -> AsyncIterator[TimedAudit]:
        """Measure the body's latency and record its outcome; an exception is recorded and re-raised.

        ``async with audit.timed("command", command="ask", user_id=u, channel_id=c) as outcome: ...``
        """
        # Validate up front so a bad code fails before the work, not after it.
        AuditRecord.create(event, success=True, command=command, user_id=user_id, channel_id=channel_id)
        outcome = TimedAudit()
        started = time.perf_counter()
        try:
            yield outcome
        except BaseException as exc:
            await self.record(
                event,
                success=False,
                command=command,
                user_id=user_id,
                channel_id=channel_id,
                latency_ms=(time.perf_counter() - started) * 1000,
                detail=exception_code(exc),
                level=AuditLevel.ERROR,
            )
            raise
        await self.record(
            event,
            success=outcome.success,
            command=command,
            user_id=user_id,
            channel_id=channel_id,
            latency_ms=(time.perf_counter() - started) * 1000,
            detail=outcome.detail,
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
