"""Reading a GGUF model file's metadata (header and key/value section) without loading the model.

The format is llama.cpp's (docs: ggml/docs/gguf.md): magic `GGUF`, a version, the tensor and key/value
counts, then typed key/value pairs, then tensor infos. Only the first two parts are read, and large
arrays (the tokenizer's vocabulary) are skipped rather than kept, so checking a 20 GB file reads a few
megabytes and needs no llama.cpp.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"GGUF"
# Value types (gguf.md "GGUFValueType"): fixed-size scalars by struct format, then string and array.
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING = 8
_ARRAY = 9
# Arrays longer than this are counted, not kept (token lists have ~50k-250k entries).
_KEEP_ARRAY = 64
# A key or string longer than this is not a GGUF file we understand (chat templates are a few KB).
_MAX_STRING = 16 << 20


class GGUFError(Exception):
    """The file is missing, not GGUF, or its metadata section is malformed."""


@dataclass
class GGUFMetadata:
    version: int
    tensor_count: int
    values: dict[str, Any] = field(default_factory=dict)
    # Lengths of the arrays that were skipped, by key.
    array_lengths: dict[str, int] = field(default_factory=dict)

    @property
    def architecture(self) -> str | None:
        value = self.values.get("general.architecture")
        return value if isinstance(value, str) else None

    def arch_value(self, name: str) -> Any:
        """A per-architecture key, e.g. `context_length` for `llama.context_length`."""
        return self.values.get(f"{self.architecture}.{name}")

    @property
    def chat_template(self) -> str | None:
        value = self.values.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None


def read_metadata(path: Path) -> GGUFMetadata:
    try:
        with path.open("rb") as stream:
            return _read(stream)
    except FileNotFoundError:
        raise GGUFError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise GGUFError(f"{path} is a directory, not a model file") from None
    except (struct.error, UnicodeDecodeError, EOFError) as exc:
        raise GGUFError(
            f"{path}: the metadata is truncated or malformed ({exc.__class__.__name__})"
        ) from None


def _read(stream: BinaryIO) -> GGUFMetadata:
    if stream.read(4) != MAGIC:
        raise GGUFError("not a GGUF file (no GGUF magic at the start)")
    (version,) = _unpack(stream, "<I")
    if version not in (2, 3):
        raise GGUFError(f"GGUF version {version} is not supported (2 or 3 are)")
    tensor_count, kv_count = _unpack(stream, "<QQ")
    meta = GGUFMetadata(version=version, tensor_count=tensor_count)
    for _ in range(kv_count):
        key = _string(stream)
        (kind,) = _unpack(stream, "<I")
        if kind == _ARRAY:
            (item_kind,) = _unpack(stream, "<I")
            (length,) = _unpack(stream, "<Q")
            items = [_value(stream, item_kind) for _ in range(length)]
            if length <= _KEEP_ARRAY:
                meta.values[key] = items
            meta.array_lengths[key] = length
        else:
            meta.values[key] = _value(stream, kind)
    return meta


def _value(stream: BinaryIO, kind: int) -> Any:
    if kind == _STRING:
        return _string(stream)
    if kind == _ARRAY:
        raise GGUFError("nested arrays are not supported")
    fmt = _SCALARS.get(kind)
    if fmt is None:
        raise GGUFError(f"unknown metadata value type {kind}")
    return _unpack(stream, fmt)[0]


def _string(stream: BinaryIO) -> str:
    (length,) = _unpack(stream, "<Q")
    if length > _MAX_STRING:
        raise GGUFError("a metadata string is implausibly long")
    data = stream.read(length)
    if len(data) != length:
        raise EOFError
    return data.decode("utf-8")


def _unpack(stream: BinaryIO, fmt: str) -> tuple[Any, ...]:
    size = struct.calcsize(fmt)
    data = stream.read(size)
    if len(data) != size:
        raise EOFError
    return struct.unpack(fmt, data)


def write_metadata(path: Path, values: dict[str, Any], tensor_count: int = 0) -> None:
    """Write a metadata-only GGUF (strings, ints, floats, bools); for tests and tools, not for models."""
    out = bytearray(MAGIC + struct.pack("<IQQ", 3, tensor_count, len(values)))

    def string(text: str) -> bytes:
        data = text.encode()
        return struct.pack("<Q", len(data)) + data

    for key, value in values.items():
        out += string(key)
        if isinstance(value, bool):
            out += struct.pack("<I?", 7, value)
        elif isinstance(value, int):
            out += struct.pack("<Iq", 11, value)
        elif isinstance(value, float):
            out += struct.pack("<Id", 12, value)
        else:
            out += struct.pack("<I", _STRING) + string(str(value))
    path.write_bytes(bytes(out))
