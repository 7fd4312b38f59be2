"""The audit log writes exactly the typed fields, one JSON line each, and refuses free text."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.audit import AuditLog, AuditRecord, InvalidAuditField, exception_code

FIELDS = {"timestamp", "level", "event", "command", "user_id", "channel_id", "success", "latency_ms"}
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_record_is_one_json_line_with_exactly_the_audit_fields(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "audit.log"
    audit = AuditLog(path)
    await audit.record("command", success=True, command="ask", user_id=42, channel_id=7, latency_ms=12.5)
    audit.close()

    [line] = read_lines(path)
    assert set(line) == FIELDS
    assert ISO_UTC.fullmatch(str(line["timestamp"]))
    assert line | {"timestamp": None} == {
        "timestamp": None,
        "level": "info",
        "event": "command",
        "command": "ask",
        "user_id": 42,
        "channel_id": 7,
        "success": True,
        "latency_ms": 12.5,
    }


async def test_detail_is_added_only_when_given_and_lines_append(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_text('{"earlier": "line"}\n', encoding="utf-8")
    audit = AuditLog(path)
    await audit.record("prompt", success=False, user_id=1, detail="rate_limited")
    audit.close()

    earlier, line = read_lines(path)
    assert earlier == {"earlier": "line"}
    assert set(line) == FIELDS | {"detail"}
    assert line["detail"] == "rate_limited"
    assert line["level"] == "warning"


async def test_each_record_reaches_the_file_before_close(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    audit = AuditLog(path)
    await audit.record("startup", success=True)

    assert len(read_lines(path)) == 1
    audit.close()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"event": "User said: hello there"}, "event", id="event-with-free-text"),
        pytest.param({"command": "Ask"}, "command", id="command-with-capitals"),
        pytest.param({"detail": "token=abc def"}, "detail", id="detail-with-spaces"),
        pytest.param({"detail": "x" * 65}, "detail", id="detail-too-long"),
        pytest.param({"detail": ""}, "detail", id="detail-empty"),
        pytest.param({"user_id": "1234"}, "user_id", id="user-id-as-string"),
        pytest.param({"user_id": True}, "user_id", id="user-id-as-bool"),
        pytest.param({"channel_id": -5}, "channel_id", id="negative-channel-id"),
        pytest.param({"latency_ms": -1.0}, "latency_ms", id="negative-latency"),
        pytest.param({"success": "yes"}, "success", id="success-not-bool"),
    ],
)
def test_fields_of_the_wrong_shape_are_refused_naming_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {"event": "command", "success": True} | kwargs
    with pytest.raises(InvalidAuditField, match=field) as caught:
        AuditRecord.create(**arguments)  # type: ignore[arg-type]
    value = kwargs[field]
    if isinstance(value, str) and value:
        # The message names the field but never repeats the offending value.
        assert value not in str(caught.value)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(InvalidAuditField, match="timestamp"):
        AuditRecord.create("command", success=True, timestamp=datetime(2024, 1, 1))


def test_timestamp_is_written_in_utc() -> None:
    record = AuditRecord.create(
        "command", success=True, timestamp=datetime.fromisoformat("2024-05-01T12:00:00+02:00")
    )
    assert record.to_dict()["timestamp"] == "2024-05-01T10:00:00.000Z"
    assert record.timestamp.tzinfo is UTC


async def test_sync_and_async_sinks_receive_every_record(tmp_path: Path) -> None:
    seen_sync: list[AuditRecord] = []
    seen_async: list[AuditRecord] = []

    async def async_sink(record: AuditRecord) -> None:
        seen_async.append(record)

    audit = AuditLog(None, sinks=[seen_sync.append])
    audit.add_sink(async_sink)
    written = await audit.record("session_open", success=True, user_id=9)

    assert seen_sync == [written]
    assert seen_async == [written]


async def test_a_failing_sink_does_not_fail_the_audited_operation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_sink(record: AuditRecord) -> None:
        raise ConnectionError("database down")

    after: list[AuditRecord] = []
    audit = AuditLog(tmp_path / "audit.log", sinks=[broken_sink, after.append])
    await audit.record("command", success=True)
    audit.close()

    assert len(after) == 1
    assert len(read_lines(tmp_path / "audit.log")) == 1
    assert "audit sink" in caplog.text


async def test_timed_block_records_latency_and_success(tmp_path: Path) -> None:
    records: list[AuditRecord] = []
    audit = AuditLog(None, sinks=[records.append])

    async with audit.timed("command", command="ask", user_id=3, channel_id=4) as outcome:
        outcome.note("fallback_reply")

    [record] = records
    assert record.success is True
    assert record.detail == "fallback_reply"
    assert record.latency_ms is not None
    assert record.latency_ms >= 0


async def test_timed_block_can_mark_a_failure_without_raising() -> None:
    records: list[AuditRecord] = []
    audit = AuditLog(None, sinks=[records.append])

    async with audit.timed("prompt", user_id=3) as outcome:
        outcome.fail("rate_limited")

    assert (records[0].success, records[0].detail, records[0].level) == (False, "rate_limited", "warning")


async def test_exception_in_timed_block_is_recorded_by_class_and_reraised() -> None:
    records: list[AuditRecord] = []
    audit = AuditLog(None, sinks=[records.append])

    with pytest.raises(KeyError):
        async with audit.timed("command", command="ask"):
            raise KeyError("secret prompt text")

    [record] = records
    assert (record.success, record.level, record.detail) == (False, "error", "exc:key_error")
    assert "secret" not in record.to_json()


async def test_timed_refuses_bad_fields_before_running_the_body() -> None:
    ran = False
    audit = AuditLog(None)
    with pytest.raises(InvalidAuditField):
        async with audit.timed("command", command="Not A Code"):
            ran = True
    assert not ran


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        pytest.param(TimeoutError(), "exc:timeout_error", id="builtin"),
        pytest.param(InvalidAuditField("x"), "exc:invalid_audit_field", id="camel-case"),
        pytest.param(OSError("path /secret"), "exc:os_error", id="message-dropped"),
    ],
)
def test_exception_code_is_a_safe_code(exc: BaseException, code: str) -> None:
    assert exception_code(exc) == code
