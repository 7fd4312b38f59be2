"""The engine's error family. Callers catch `EngineError`, never `Exception`.

    EngineError
    ├── ModelNotFound       the .gguf file is missing (bad path, or the model package is not installed)
    ├── ModelLoadError      llama.cpp could not load the file (corrupt, wrong format, out of memory)
    ├── EngineNotRunning    submit() before start() finished, or after close()
    ├── InvalidRequest      a request the engine can never run (no messages, duplicate id, bad limits)
    ├── PromptTooLong       even the system prompt plus the latest turn does not fit the context window
    └── GenerationFailed    llama.cpp failed while generating

The first four are raised by the call that hit them. The last two happen on the worker while a request
runs, so they arrive in the final `GenerationResult` (`finish_reason="error"`, `error=<the exception>`);
`GenerationResult.raise_for_error()` turns that back into a raise for callers that prefer one.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the inference engine raises or reports."""


class ModelNotFound(EngineError):
    """The model file does not exist where the configuration says (or the model package is missing)."""


class ModelLoadError(EngineError):
    """llama.cpp refused the model file."""


class EngineNotRunning(EngineError):
    """The engine is not accepting requests: not started yet, failed to start, or closed."""


class InvalidRequest(EngineError):
    """The request itself is malformed; retrying it unchanged can never succeed."""


class PromptTooLong(EngineError):
    """The system prompt plus the latest turn alone exceed `n_ctx - max_tokens`.

    We refuse rather than cut the front off the user's message: a silently truncated question gets a
    confidently wrong answer, while this error lets the bot tell the user to shorten it.
    """

    def __init__(self, prompt_tokens: int, budget: int) -> None:
        super().__init__(
            f"the latest message needs {prompt_tokens} prompt tokens but only {budget} fit "
            "(context size minus the reply's max_tokens)"
        )
        self.prompt_tokens = prompt_tokens
        self.budget = budget


class GenerationFailed(EngineError):
    """llama.cpp raised while generating; the message carries its text."""
