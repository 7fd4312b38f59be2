"""`UserDataService`: what the front ends call - forget scrubs the audit file too and audits only the
fact; export is audited for the user who asked; the Discord channels to delete are handed back."""

from __future__ import annotations

import json
from pathlib import Path

from server_bot.db import Role, SessionSettings
from server_bot.lifecycle import EXPORT_AUDIT_EVENT, FORGET_AUDIT_EVENT, UserDataService
from server_bot.lifecycle.audit_file import scrub_audit_file
from shared.audit import AuditLog
from tests.server_bot.lifecycle.conftest import World

ALICE, BOB = 734512098765432101, 845623109876543212


def _file_users(path: Path) -> list[tuple[str, int | None]]:
    return [(r["event"], r["user_id"]) for r in map(json.loads, path.read_text().splitlines())]


async def test_forget_scrubs_the_audit_file_and_records_only_the_fact(world: World, tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.log"
    audit = AuditLog(audit_path, sinks=[world.repo.audit_sink])
    service = UserDataService(world.sessionmaker, world.sealer, world.store, audit, audit_path)
    session = await world.repo.open_session(ALICE, 1, 5551, SessionSettings(None, 0.7, 64))
    await world.repo.add_message(session.id, Role.USER, "hello")
    await audit.record("command", success=True, command="chat.start", user_id=ALICE, channel_id=5551)
    await audit.record("command", success=True, command="chat.start", user_id=BOB, channel_id=5552)
    exported = json.loads(await service.export(ALICE))

    report = await service.forget(ALICE)
    # The bot keeps appending through its open handle after the in-place rewrite.
    await audit.record("command", success=True, command="chat.start", user_id=BOB, channel_id=5552)
    audit.close()

    assert [m["text"] for m in exported["sessions"][0]["messages"]] == ["hello"]
    assert report.channel_ids == (5551,)
    assert _file_users(audit_path) == [
        ("command", BOB),
        (FORGET_AUDIT_EVENT, None),
        ("command", BOB),
    ]
    assert str(ALICE) not in audit_path.read_text()
    table = await world.repo.recent_audit_events()
    assert {e.user_id for e in table} == {None, BOB}
    assert EXPORT_AUDIT_EVENT not in {e.event for e in table}  # it named Alice, so it went with her


def test_scrubbing_keeps_lines_it_cannot_read_and_ignores_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    assert scrub_audit_file(path, 1) == 0
    path.write_text('{"event":"a","user_id":1}\nnot json\n{"event":"b","user_id":2}\n')

    assert scrub_audit_file(path, 1) == 1

    assert path.read_text() == 'not json\n{"event":"b","user_id":2}\n'
