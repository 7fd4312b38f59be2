"""The GPU host's model: the file is a GGUF llama.cpp can open, it carries a chat template, it fits the
configured context; and whether this llama-cpp-python build can offload layers to a GPU."""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path

from client_bot.engine.model_files import default_model_path
from meatlizard.doctor.result import Check, fail, note, ok
from meatlizard.gguf_metadata import GGUFError
from meatlizard.model_check import inspect_model, mib
from shared.config import ModelSettings

_PICK = "see docs/models.md for choosing a GGUF, then set MODEL_PATH"


async def check_model(settings: ModelSettings) -> list[Check]:
    try:
        path = settings.path or default_model_path()
    except Exception as exc:  # the bundled-model lookup raises its own error type with a fix in it
        return [fail("model file", str(exc), _PICK)]
    try:
        facts = inspect_model(path)
    except GGUFError as exc:
        return [fail("model file", str(exc), _PICK)]
    checks: list[Check] = []
    loadable = await asyncio.to_thread(_opens_in_llama_cpp, path)
    label = f"{path.name} ({mib(facts.size_bytes)}, {facts.architecture or '?'})"
    if loadable:
        checks.append(fail("model file", f"{label}: llama.cpp cannot open it ({loadable})", _PICK))
    else:
        checks.append(ok("model file", f"{label} opens in llama.cpp"))
    if facts.has_chat_template:
        checks.append(ok("chat template", "present in the file"))
    else:
        checks.append(
            fail(
                "chat template",
                f"{path.name} has none",
                "use a chat/instruct GGUF that embeds tokenizer.chat_template",
            )
        )
    if facts.trained_context is not None and settings.context > facts.trained_context:
        checks.append(
            fail(
                "context",
                f"MODEL_CONTEXT={settings.context} is more than the model's {facts.trained_context}",
                f"set MODEL_CONTEXT to {facts.trained_context} or less",
            )
        )
    else:
        estimate = facts.estimated_bytes(settings.context)
        memory = f", about {mib(estimate)} of memory" if estimate else ""
        checks.append(ok("context", f"MODEL_CONTEXT={settings.context}{memory}"))
    checks.append(_gpu())
    return checks


def _opens_in_llama_cpp(path: Path) -> str:
    """'' when llama.cpp opens the file (vocabulary only: fast, no weights in memory), else why not."""
    from llama_cpp import Llama  # noqa: PLC0415 — heavy; only the GPU host's doctor needs it

    # llama.cpp's log goes to sys.stderr through llama-cpp-python's callback even with verbose=False, and a
    # vocabulary-only load always warns about a training context of 0: keep it for a failure's reason.
    log = io.StringIO()
    try:
        with contextlib.redirect_stderr(log):
            llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
    except Exception as exc:  # llama-cpp-python raises ValueError or RuntimeError for unreadable files
        said = [line for line in log.getvalue().splitlines() if "error" in line.lower()]
        return "; ".join([exc.__class__.__name__, *said[-2:]])
    llama.close()
    return ""


def _gpu() -> Check:
    import llama_cpp  # noqa: PLC0415

    if llama_cpp.llama_supports_gpu_offload():
        return ok("GPU offload", f"available in llama-cpp-python {llama_cpp.__version__}")
    return note(
        "GPU offload",
        f"not available: llama-cpp-python {llama_cpp.__version__} was built for CPU only",
        "for an NVIDIA GPU: "
        'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python',
    )
