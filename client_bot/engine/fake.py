"""A deterministic stand-in for the model, for fast tests of the bots.

It shares the real engine's queueing, fairness, cancellation and result bookkeeping; only the text
comes from a canned reply (or an echo of the latest message) streamed word by word.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence

from client_bot.engine.base import Job, QueuedEngine
from client_bot.engine.context import fit_history
from client_bot.engine.errors import EngineError
from client_bot.engine.types import ChatTurn, FinishReason, GenerationRequest
from shared.log import get_logger
from shared.tasks import spawn

log = get_logger(__name__)

Reply = str | Callable[[GenerationRequest], str]
"""Canned text, or a function of the request. A function may raise `EngineError` to simulate a failure."""

_TOKEN = re.compile(r"\s*\S+|\s+")


def fake_tokens(text: str) -> list[str]:
    """The fake tokenizer: each word with the whitespace before it. Joining them gives `text` back."""
    return _TOKEN.findall(text)


def echo_reply(request: GenerationRequest) -> str:
    return f"You said: {request.messages[-1].content}"


def long_reply(chars: int = 5000, *, code_fence: bool = True) -> str:
    """A deterministic reply of about `chars` characters for message-splitting tests.

    With `code_fence`, a fenced Python block sits in the middle, long enough (~1200 characters) that
    a 2000-character split point near it has to deal with an open fence.
    """
    prose = _prose(chars // 2 if code_fence else chars)
    if not code_fence:
        return prose
    code = "\n".join(f"    total += compute_value({i}, factor={i % 7})  # step {i}" for i in range(24))
    block = f"```python\ndef accumulate():\n    total = 0\n{code}\n    return total\n```"
    return f"{prose}\n\n{block}\n\n{_prose(max(0, chars - len(prose) - len(block)))}"


def _prose(chars: int) -> str:
    words = ("lizard", "meat", "private", "chat", "relay", "envelope", "model", "token", "session")
    out: list[str] = []
    length = 0
    i = 0
    while length < chars:
        sentence = " ".join(words[(i + k) % len(words)] for k in range(8)).capitalize() + "."
        out.append(sentence + ("\n\n" if i % 5 == 4 else " "))
        length += len(out[-1])
        i += 1
    return "".join(out).rstrip()


def count_fake_tokens(turns: Sequence[ChatTurn]) -> int:
    # Four template tokens per turn, like a chat template's role markers.
    return sum(4 + len(fake_tokens(turn.content)) for turn in turns)


class FakeEngine(QueuedEngine):
    """Streams `reply` one word per `token_delay_s`, honouring max_tokens and cancellation.

    `slots` requests stream at once (like a batching engine's sequences); the rest wait in the fair
    queue. With `n_ctx` set, histories are fitted with the real policy (oldest turns dropped, `PromptTooLong`
    reported) using `count_fake_tokens`, so bots can test those paths without the model.
    """

    def __init__(
        self,
        reply: Reply | None = None,
        *,
        token_delay_s: float = 0.0,
        n_ctx: int | None = None,
        model_name: str = "fake-engine",
        slots: int = 1,
    ) -> None:
        if slots < 1:
            raise ValueError("a fake engine needs at least one slot")
        super().__init__(model_name)
        self._reply: Reply = echo_reply if reply is None else reply
        self._token_delay_s = token_delay_s
        self._n_ctx = n_ctx
        self._slots_total = slots
        self._work = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self._workers:
            return
        self._accepting = True
        self._loaded = True
        self._workers = [
            spawn(self._serve(), name=f"{self.model_name}-worker-{n}") for n in range(self._slots_total)
        ]

    async def close(self) -> None:
        self._cancel_queued_on_close()
        self._work.set()
        await asyncio.gather(*self._workers)
        self._workers = []
        self._loaded = False

    def _wake(self) -> None:
        self._work.set()

    async def _serve(self) -> None:
        while self._accepting or self._has_work():
            job = self._take_next()
            if job is None:
                self._work.clear()
                if not self._accepting:
                    return
                await self._work.wait()
                continue
            await self._run(job)

    async def _run(self, job: Job) -> None:
        request = job.request
        try:
            prompt_tokens, dropped = self._fit(request)
            tokens = fake_tokens(self._reply(request) if callable(self._reply) else self._reply)
        except EngineError as error:
            self._finish(job, job.result("error", error=error))
            return
        finish: FinishReason = "stop"
        produced = 0
        for token in tokens:
            if produced == request.max_tokens:
                finish = "length"
                break
            # Sleeping even for 0 s yields, so a long reply never monopolises the event loop.
            await asyncio.sleep(self._token_delay_s)
            if job.cancelled.is_set():
                finish = "cancelled"
                break
            job.emit(token)
            produced += 1
        result = job.result(
            finish, prompt_tokens=prompt_tokens, completion_tokens=produced, dropped_turns=dropped
        )
        self._finish(job, result)

    def _fit(self, request: GenerationRequest) -> tuple[int, int]:
        if self._n_ctx is None:
            return count_fake_tokens(request.messages), 0
        fitted = fit_history(request.messages, self._n_ctx - request.max_tokens, count_fake_tokens)
        return fitted.prompt_tokens, fitted.dropped_turns
