"""Listing objects by prefix, on the local folder and on S3: what purge and forget rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from server_bot.objects import ListableObjectStore, LocalFolderStore
from tests.server_bot.lifecycle.conftest import World


async def test_listing_finds_exactly_the_objects_under_a_prefix_with_their_write_time(world: World) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    for key in ["transcripts/a/transcript.json", "transcripts/b/transcript.md", "backups/database/x.gz"]:
        await world.store.put(key, b"data", "application/octet-stream")

    listed = await world.store.list_objects("transcripts/")

    assert isinstance(world.store, ListableObjectStore)
    assert sorted(item.key for item in listed) == [
        "transcripts/a/transcript.json",
        "transcripts/b/transcript.md",
    ]
    assert all(before <= item.modified_at <= datetime.now(UTC) + timedelta(seconds=5) for item in listed)
    assert all(item.modified_at.tzinfo is not None for item in listed)
    assert [item.key for item in await world.store.list_objects("transcripts/a/")] == [
        "transcripts/a/transcript.json"
    ]
    assert await world.store.list_objects("nothing/") == []


async def test_local_listing_skips_half_written_files_and_a_missing_folder(tmp_path: Path) -> None:
    assert await LocalFolderStore(tmp_path / "absent").list_objects("") == []
    store = LocalFolderStore(tmp_path / "objects")
    await store.put("transcripts/a/transcript.json", b"{}", "application/json")
    (tmp_path / "objects" / "transcripts" / "a" / ".tmp-123").write_bytes(b"half")

    assert [item.key for item in await store.list_objects("")] == ["transcripts/a/transcript.json"]
