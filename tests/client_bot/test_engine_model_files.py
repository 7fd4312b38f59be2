"""Locating the bundled model without importing its package (which needs the unrelated `llm` CLI)."""

from __future__ import annotations

from pathlib import Path

from client_bot.engine import default_model_path
from client_bot.engine.model_files import model_name_of


def test_bundled_smollm2_gguf_is_found() -> None:
    path = default_model_path()
    assert path.is_file()
    assert path.suffix == ".gguf"
    assert "SmolLM2" in path.name


def test_model_name_is_the_file_stem() -> None:
    assert model_name_of(Path("/models/SmolLM2-135M-Instruct.Q4_1.gguf")) == "SmolLM2-135M-Instruct.Q4_1"
