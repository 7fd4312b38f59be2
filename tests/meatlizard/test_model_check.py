"""`meatlizard model check PATH`: a GGUF's facts from its metadata, and a clear refusal otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_bot.engine.model_files import default_model_path
from meatlizard.cli import main
from meatlizard.gguf_metadata import GGUFError, read_metadata, write_metadata
from meatlizard.model_check import inspect_model
from tests.meatlizard.conftest import model_without_template


def test_the_bundled_model_reports_context_template_size_and_memory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["model", "check", str(default_model_path()), "--context", "4096"]) == 0
    out = capsys.readouterr().out
    assert "trained context: 8192 tokens" in out
    assert "chat template: present" in out
    assert "Q4_1" in out
    assert "memory at 4096 tokens: about" in out


def test_memory_estimate_grows_with_the_context() -> None:
    facts = inspect_model(default_model_path())
    small, large = facts.estimated_bytes(1024), facts.estimated_bytes(8192)
    assert small is not None and large is not None
    assert facts.size_bytes < small < large
    # SmolLM2-135M: 30 layers x 3 KV heads x (64 + 64) x 2 bytes per token.
    assert facts.kv_bytes_per_token == 30 * 3 * 128 * 2


def test_a_model_without_chat_template_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["model", "check", str(model_without_template(tmp_path))]) == 1
    assert "✘ chat template: MISSING" in capsys.readouterr().out


def test_a_context_beyond_the_trained_one_is_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "check", str(default_model_path()), "--context", "16384"]) == 1
    assert "MODEL_CONTEXT=16384 is larger" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"PK\x03\x04 a zip file", "not a GGUF file", id="not-gguf"),
        pytest.param(b"GGUF\x03\x00\x00\x00\x01", "truncated", id="truncated"),
    ],
)
def test_a_file_that_is_not_a_readable_gguf_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    assert main(["model", "check", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_metadata_round_trips_through_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "meta.gguf"
    write_metadata(path, {"general.architecture": "llama", "llama.context_length": 4096, "flag": True})
    meta = read_metadata(path)
    assert meta.architecture == "llama"
    assert meta.arch_value("context_length") == 4096
    assert meta.values["flag"] is True
    assert meta.chat_template is None
    with pytest.raises(GGUFError, match="does not exist"):
        read_metadata(tmp_path / "missing.gguf")
