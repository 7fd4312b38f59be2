"""The embedded object store: a folder, with keys that cannot escape it."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from server_bot.objects import (
    InvalidObjectKey,
    LocalFolderStore,
    ObjectNotFound,
    ObjectStore,
    clamp_link_seconds,
    validate_key,
)


@pytest.fixture
def store(tmp_path: Path) -> LocalFolderStore:
    return LocalFolderStore(tmp_path / "objects")


def test_local_store_satisfies_the_protocol(store: LocalFolderStore) -> None:
    assert isinstance(store, ObjectStore)
    assert store.links_are_shareable is False


async def test_put_get_exists_delete_round_trip(store: LocalFolderStore) -> None:
    key = "transcripts/abc/transcript.json"
    assert not await store.exists(key)
    await store.put(key, b'{"a": 1}', "application/json")
    assert await store.exists(key)
    assert await store.get(key) == b'{"a": 1}'
    await store.put(key, b"replaced", "application/json")
    assert await store.get(key) == b"replaced"
    await store.delete(key)
    assert not await store.exists(key)
    await store.delete(key)  # deleting a missing object is not an error


async def test_missing_object_is_reported(store: LocalFolderStore) -> None:
    with pytest.raises(ObjectNotFound):
        await store.get("nothing/here.md")
    with pytest.raises(ObjectNotFound):
        await store.link("nothing/here.md", 60)


async def test_a_folder_is_not_an_object(store: LocalFolderStore) -> None:
    await store.put("a/b.txt", b"x", "text/plain")
    assert not await store.exists("a")
    with pytest.raises(ObjectNotFound):
        await store.get("a")


async def test_link_is_a_file_url_to_the_stored_bytes(store: LocalFolderStore) -> None:
    await store.put("t/x.md", b"# hi", "text/markdown")
    url = await store.link("t/x.md", 60)
    assert urlparse(url).scheme == "file"
    assert _read_file_url(url) == b"# hi"


def _read_file_url(url: str) -> bytes:
    return Path(unquote(urlparse(url).path)).read_bytes()


BAD_KEYS = [
    pytest.param("../escape.txt", id="parent"),
    pytest.param("a/../../escape.txt", id="nested-parent"),
    pytest.param("/etc/passwd", id="absolute"),
    pytest.param("a//b", id="empty-segment"),
    pytest.param("a/./b", id="dot-segment"),
    pytest.param(".hidden", id="hidden"),
    pytest.param("a\\..\\b", id="backslash"),
    pytest.param("a/b\x00c", id="nul"),
    pytest.param("", id="empty"),
    pytest.param("a/", id="trailing-slash"),
    pytest.param("x" * 513, id="too-long"),
    pytest.param("caf\u00e9/x", id="non-ascii"),
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_unsafe_keys_are_refused_before_any_io(store: LocalFolderStore, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        await store.put(key, b"x", "text/plain")
    with pytest.raises(InvalidObjectKey):
        await store.get(key)
    with pytest.raises(InvalidObjectKey):
        await store.exists(key)
    with pytest.raises(InvalidObjectKey):
        await store.delete(key)
    assert not (store.root.parent / "escape.txt").exists()


async def test_symlink_out_of_the_root_is_refused(store: LocalFolderStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store.root.mkdir(parents=True)
    os.symlink(outside, store.root / "link")
    with pytest.raises(InvalidObjectKey):
        await store.put("link/secret.txt", b"x", "text/plain")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("transcripts/4f1c0b9e-2f6a-4c1e-9a7d-0b7c5d1e2f3a/transcript.json", id="transcript"),
        pytest.param("a.b-c_d/E9", id="mixed"),
    ],
)
def test_plain_relative_keys_are_accepted(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        pytest.param(60, 60, id="short"),
        pytest.param(900, 900, id="at-cap"),
        pytest.param(86400, 900, id="day-clamped"),
        pytest.param(0, 1, id="zero-raised"),
        pytest.param(-5, 1, id="negative-raised"),
    ],
)
def test_link_lifetimes_are_clamped_to_fifteen_minutes(requested: int, granted: int) -> None:
    assert clamp_link_seconds(requested) == granted
