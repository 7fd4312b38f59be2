"""The MCP front's audit lines, in the tool-server guide's format, through the platform's one audit log.

    {"timestamp": "...Z", "level": "info", "event": "tool_call", "tool": "ask", "user_id": 42,
     "channel_id": 987, "success": true, "latency_ms": 150.2, "ip_address": "192.0.2.7", ...}

A `ToolCallRecord` is a `shared.audit.AuditRecord` (so the file, the database sink and the shape checks
are shared) with the guide's two extra fields: `tool` (also kept as `command`, which the audit table
stores) and `ip_address` (parsed by `ipaddress`, so nothing but an address fits; None on stdio). There is
no field for text: prompts, replies, tokens and keys cannot get in.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from shared.audit import AuditLevel, AuditLog, AuditRecord, InvalidAuditField

TOOL_CALL = "tool_call"
AUTH_FAILED = "auth_failed"


@dataclass(frozen=True, slots=True)
class ToolCallRecord(AuditRecord):
    tool: str | None = None
    ip_address: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = AuditRecord.to_dict(self)
        data["tool"] = self.tool
        data["ip_address"] = self.ip_address
        return data


def checked_ip(value: str | None) -> str | None:
    """`value` as a canonical IP address, or None when absent or not an address."""
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


async def write(
    audit: AuditLog,
    event: str,
    *,
    success: bool,
    tool: str | None,
    user_id: int | None,
    channel_id: int | None,
    latency_ms: float | None,
    ip_address: str | None,
    detail: str | None = None,
) -> ToolCallRecord:
    """Validate and write one MCP audit line (`tool_call` or `auth_failed`)."""
    base = AuditRecord.create(
        event,
        success=success,
        command=tool,
        user_id=user_id,
        channel_id=channel_id,
        latency_ms=latency_ms,
        detail=detail,
        level=None if success else AuditLevel.WARNING,
    )
    ip = checked_ip(ip_address)
    if ip_address is not None and ip is None:
        raise InvalidAuditField("audit field 'ip_address' must be an IP address or None")
    record = ToolCallRecord(
        timestamp=base.timestamp,
        level=base.level,
        event=base.event,
        command=base.command,
        user_id=base.user_id,
        channel_id=base.channel_id,
        success=base.success,
        latency_ms=base.latency_ms,
        detail=base.detail,
        tool=base.command,
        ip_address=ip,
    )
    await audit.write(record)
    return record
