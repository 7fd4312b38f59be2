"""Removing one user's lines from the JSON-lines audit file (`shared.audit`), for `forget`.

The audit file is append-only for the bot: `AuditLog` holds it open in append mode. The rewrite happens
in place (read, filter, write back, truncate) and synchronously, without yielding to the event loop, so
no audit record of this process can land in the middle of it, and the open append handle simply keeps
appending after the new end. Another process appending at the same instant (a `meatlizard reseal`) could
lose that one line; the bot is the only steady writer.
"""

from __future__ import annotations

import json
from pathlib import Path


def scrub_audit_file(path: Path, user_id: int) -> int:
    """Drop every record whose `user_id` is `user_id`; returns how many lines went. A missing file is 0.

    Lines that are not JSON objects are kept untouched: this function removes a user, not evidence.
    """
    try:
        handle = path.open("r+", encoding="utf-8")
    except FileNotFoundError:
        return 0
    with handle:
        lines = handle.readlines()
        kept = [line for line in lines if not _belongs_to(line, user_id)]
        if len(kept) == len(lines):
            return 0
        handle.seek(0)
        handle.writelines(kept)
        handle.truncate()
    return len(lines) - len(kept)


def _belongs_to(line: str, user_id: int) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and record.get("user_id") == user_id
