"""forget leaves no row or object of the user; export holds all of it; other users are untouched."""

from __future__ import annotations

import json
import sqlite3

from sqlalchemy import select

from server_bot.db import Role, SessionSettings
from server_bot.db.models import AccessToken, AdminToggle
from server_bot.lifecycle import FORGET_AUDIT_EVENT, export_user, export_user_json, forget_user
from server_bot.transcripts import save_transcript
from tests.server_bot.lifecycle.conftest import World

# Distinctive ids and texts, so a scan of a dump or a bucket can only find them if they were left behind.
ALICE, BOB = 734512098765432101, 845623109876543212
ALICE_TEXTS = [
    "alice-secret-PERIWINKLE",
    "alice-reply-QUOKKA",
    "alice-prompt-ZEPPELIN",
    "alice-excerpt-MANGO",
]
BOB_TEXT = "bob-keeps-HAZELNUT"


async def _populate(world: World) -> None:
    repo = world.repo
    first = await repo.open_session(ALICE, 1, 31, SessionSettings(ALICE_TEXTS[2], 0.5, 64))
    await repo.add_message(first.id, Role.USER, ALICE_TEXTS[0])
    await repo.add_message(first.id, Role.ASSISTANT, ALICE_TEXTS[1])
    await repo.add_violation(ALICE, "rude", "warn", ALICE_TEXTS[3], first.id)
    await repo.add_request("alice-request-1", first.id)  # a prompt in flight when the session ended
    await repo.end_session(first.id)
    await save_transcript(repo, world.store, first.id)
    second = await repo.open_session(ALICE, 1, 32, SessionSettings(None, 0.7, 64))
    await repo.add_message(second.id, Role.USER, "alice again")
    await save_transcript(repo, world.store, second.id)  # `/chat transcript` while still open
    await repo.add_audit_event("command", success=True, command="chat_start", user_id=ALICE, channel_id=31)
    await repo.set_toggle("fallback", True, updated_by=ALICE)
    await repo.suspend_user(ALICE, first.created_at)
    async with world.sessionmaker() as db:  # an MCP access token of hers
        db.add(AccessToken(user_id=ALICE, name="alice-token-OCELOT", token_hash="a" * 64, scopes="chat"))
        await db.commit()

    bobs = await repo.open_session(BOB, 1, 41, SessionSettings(None, 0.7, 64))
    await repo.add_message(bobs.id, Role.USER, BOB_TEXT)
    await repo.end_session(bobs.id)
    await save_transcript(repo, world.store, bobs.id)
    await repo.add_audit_event("command", success=True, command="chat_start", user_id=BOB, channel_id=41)


def _database_bytes(world: World) -> bytes:
    """The whole database as text: pg_dump on PostgreSQL, every row's values on SQLite."""
    if world.postgres is not None:
        assert world.database is not None
        return world.postgres.pg_dump(world.database)
    path = world.url.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        lines = [repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"')]
    return "\n".join(lines).encode()


def _needles(user_id: int, texts: list[str]) -> list[bytes]:
    return [str(user_id).encode(), *(text.encode() for text in texts)]


async def test_forget_leaves_no_row_or_object_of_the_user(world: World) -> None:
    await _populate(world)
    assert str(ALICE).encode() in _database_bytes(world)  # the scan can see her before

    report = await forget_user(world.sessionmaker, world.store, ALICE)
    await world.repo.add_audit_event(FORGET_AUDIT_EVENT, success=True, detail=report.audit_detail)

    assert (report.sessions, report.messages, report.violations, report.audit_events) == (2, 3, 1, 1)
    assert report.objects >= 4 and report.user_row
    dump = _database_bytes(world)
    assert [n for n in _needles(ALICE, ALICE_TEXTS) if n in dump] == []
    assert b"alice-request-1" not in dump
    assert b"alice-token-OCELOT" not in dump  # her MCP access tokens are gone too
    objects = await world.object_bytes()
    assert [
        key
        for key, data in objects.items()
        if any(n in data or n in key.encode() for n in _needles(ALICE, ALICE_TEXTS))
    ] == []
    # Bob is untouched, and the audit says only that a forget happened.
    assert str(BOB).encode() in dump
    assert any(BOB_TEXT.encode() in data for data in objects.values())
    bob_sessions = (await export_user(world.sessionmaker, world.sealer, BOB))["sessions"]
    assert [m["text"] for m in bob_sessions[0]["messages"]] == [BOB_TEXT]
    events = await world.repo.recent_audit_events()
    forgotten = [e for e in events if e.event == FORGET_AUDIT_EVENT]
    assert len(forgotten) == 1 and forgotten[0].user_id is None and forgotten[0].channel_id is None
    async with world.sessionmaker() as db:
        toggle = await db.scalar(select(AdminToggle).where(AdminToggle.name == "fallback"))
    assert toggle is not None and toggle.enabled and toggle.updated_by is None

    # Forgetting again (a retry after a failure) is harmless.
    again = await forget_user(world.sessionmaker, world.store, ALICE)
    assert (again.sessions, again.messages, again.user_row) == (0, 0, False)


async def test_export_holds_all_of_the_users_data_and_nothing_of_others(world: World) -> None:
    await _populate(world)

    document = await export_user(world.sessionmaker, world.sealer, ALICE)
    raw = await export_user_json(world.sessionmaker, world.sealer, ALICE)

    assert json.loads(raw)["user"] == document["user"]
    assert document["format"] == "meatlizard-export/1"
    assert document["user"]["id"] == str(ALICE) and document["user"]["suspended_until"] is not None
    first, second = document["sessions"]
    assert first["system_prompt"] == ALICE_TEXTS[2] and first["status"] == "ended"
    assert first["front_end"] == "discord"
    assert [(m["role"], m["text"]) for m in first["messages"]] == [
        ("user", ALICE_TEXTS[0]),
        ("assistant", ALICE_TEXTS[1]),
    ]
    assert first["transcript"]["json_key"].endswith("transcript.json")
    assert [m["text"] for m in second["messages"]] == ["alice again"] and second["status"] == "open"
    assert [(v["rule"], v["excerpt"]) for v in document["moderation_violations"]] == [
        ("rude", ALICE_TEXTS[3])
    ]
    assert [(e["event"], e["command"]) for e in document["audit_events"]] == [("command", "chat_start")]
    # Every text of hers is in the file, and nothing of Bob's.
    text = raw.decode()
    assert all(secret in text for secret in ALICE_TEXTS)
    assert BOB_TEXT not in text and str(BOB) not in text


async def test_export_of_an_unknown_user_is_an_empty_document(world: World) -> None:
    document = await export_user(world.sessionmaker, world.sealer, 999)
    assert document["user"] is None
    assert document["sessions"] == document["moderation_violations"] == document["audit_events"] == []
