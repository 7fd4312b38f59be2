"""Continuous batching: every running request is a slot (a llama.cpp sequence), decoded together.

Each step builds one batch: the next token of every slot that is generating, then as many waiting
prompt tokens as the batch has room for (chunked prefill, so a long prompt costs the others one slower
step at a time rather than a stall). One `llama_decode`, then each slot that produced logits samples
its own next token with its own sampler chain (temperature, top-p, min-p, repeat penalty, seed).
A request joins at the next step after a slot frees up; a cancelled one leaves at the next step; the
others' sequences are untouched by either, since every slot owns its sequence id in the KV cache.

Prefix reuse: a finished slot keeps its session's tokens in the cache. The session's next turn is
given that slot and only prefills what differs from the cached tokens (the common prefix is usually
the whole history). Slots are taken back least-recently-used when a new session needs one.

Worker thread only; the engine feeds requests in through `admit()`.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from client_bot.engine.base import Job
from client_bot.engine.context import FittedPrompt, fit_history
from client_bot.engine.errors import EngineError, GenerationFailed
from client_bot.engine.native import BatchEntry, NativeModel, Sampler, SamplingOptions
from client_bot.engine.types import ChatTurn, FinishReason, GenerationResult

Finisher = Callable[[Job, GenerationResult], None]
PromptTokens = Callable[[Sequence[ChatTurn]], list[int]]
# Deltas of one sequence go to the event loop at most this often (the first one at once).
DELTA_INTERVAL_S = 0.03


@dataclass(slots=True)
class _Run:
    """A request occupying a slot."""

    job: Job
    fitted: FittedPrompt
    pending: list[int]  # prompt tokens not yet decoded
    sampler: Sampler
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )
    next_token: int | None = None  # sampled, to be decoded in the next step
    logits_index: int | None = None  # where this run's logits are in the current batch
    completion_tokens: int = 0
    reused_tokens: int = 0


@dataclass(slots=True)
class Slot:
    seq: int
    cached: list[int] = field(default_factory=list)  # tokens in the KV cache, positions 0..len-1
    session_id: str | None = None  # whose conversation `cached` is
    last_used: float = 0.0
    run: _Run | None = None


class BatchRunner:
    """Owns the slots of one `NativeModel` and advances all of them one step at a time."""

    def __init__(
        self,
        model: NativeModel,
        prompt_tokens: PromptTokens,
        finish: Finisher,
        n_ctx_per_seq: int,
        *,
        keep_cache: bool = True,
        default_min_p: float = 0.05,
        default_top_k: int = 40,
    ) -> None:
        self._model = model
        self._prompt_tokens = prompt_tokens
        self._finish = finish
        self._n_ctx = n_ctx_per_seq
        self._n_batch = model.options.n_batch
        self._keep_cache = keep_cache
        self._default_min_p = default_min_p
        self._default_top_k = default_top_k
        self.slots = [Slot(seq) for seq in range(model.options.n_seq)]
        self.tokens_generated = 0  # all sequences, for throughput

    @property
    def busy(self) -> bool:
        return any(slot.run is not None for slot in self.slots)

    @property
    def free_slots(self) -> int:
        return sum(1 for slot in self.slots if slot.run is None)

    @property
    def cached_sessions(self) -> int:
        return sum(1 for slot in self.slots if slot.session_id is not None)

    def admit(self, job: Job) -> None:
        """Give `job` a free slot (call only when `free_slots` > 0); errors finish the job at once."""
        if job.cancelled.is_set():
            self._finish(job, job.result("cancelled"))
            return
        request = job.request
        try:
            fitted = fit_history(
                request.messages,
                self._n_ctx - request.max_tokens,
                lambda turns: len(self._prompt_tokens(turns)),
            )
            prompt = self._prompt_tokens(fitted.turns)
        except EngineError as error:
            self._finish(job, job.result("error", error=error))
            return
        slot = self._pick_slot(request.session_id)
        reused = self._reuse_prefix(slot, prompt)
        sampler = self._model.new_sampler(
            SamplingOptions(
                temperature=request.temperature,
                top_p=request.top_p,
                min_p=self._default_min_p if request.min_p is None else request.min_p,
                top_k=self._default_top_k if request.top_k is None else request.top_k,
                repeat_penalty=request.repeat_penalty,
                seed=request.seed,
            )
        )
        sampler.accept(prompt[-64:])
        slot.session_id = request.session_id
        slot.last_used = time.monotonic()
        slot.run = _Run(job, fitted, prompt[reused:], sampler, reused_tokens=reused)

    def step(self) -> None:
        """Cancel what was cancelled, decode one batch, sample and stream every slot's next token."""
        for slot in self.slots:
            if slot.run is not None and slot.run.job.cancelled.is_set():
                self._end(slot, "cancelled")
        entries = self._build_batch()
        if not entries:
            return
        try:
            self._model.decode(entries)
        except GenerationFailed as error:
            self._fail_all(error)
            return
        for slot in self.slots:
            run = slot.run
            if run is not None and run.logits_index is not None:
                self._sample(slot, run)

    def close(self) -> None:
        for slot in self.slots:
            if slot.run is not None:
                self._end(slot, "cancelled")

    # One step.

    def _build_batch(self) -> list[BatchEntry]:
        entries: list[BatchEntry] = []
        for slot in self.slots:
            run = slot.run
            if run is None or run.next_token is None:
                continue
            run.logits_index = len(entries)
            entries.append(BatchEntry(run.next_token, len(slot.cached), slot.seq, True))
            slot.cached.append(run.next_token)
            run.next_token = None
        # Prompts fill the rest, oldest request first, so a newcomer's prompt is not starved either.
        prefilling = [s for s in self.slots if s.run is not None and s.run.pending]
        prefilling.sort(key=lambda s: s.run.job.submitted_at if s.run else 0.0)
        for slot in prefilling:
            room = self._n_batch - len(entries)
            if room <= 0:
                break
            run = slot.run
            assert run is not None
            chunk, run.pending = run.pending[:room], run.pending[room:]
            for token in chunk:
                entries.append(BatchEntry(token, len(slot.cached), slot.seq, False))
                slot.cached.append(token)
            if not run.pending:  # the prompt's last token: its logits give the first reply token
                entries[-1].logits = True
                run.logits_index = len(entries) - 1
        return entries

    def _sample(self, slot: Slot, run: _Run) -> None:
        index, run.logits_index = run.logits_index, None
        assert index is not None
        token = self._model.sample(run.sampler, index)
        if self._model.is_end_of_generation(token):
            self._end(slot, "stop")
            return
        run.completion_tokens += 1
        self.tokens_generated += 1
        run.job.hold(run.decoder.decode(self._model.piece(token)))
        run.job.flush(DELTA_INTERVAL_S)
        if run.completion_tokens >= run.job.request.max_tokens or len(slot.cached) + 1 >= self._n_ctx:
            self._end(slot, "length")
            return
        run.next_token = token

    def _end(self, slot: Slot, finish: FinishReason, error: EngineError | None = None) -> None:
        run = slot.run
        assert run is not None
        slot.run = None
        slot.last_used = time.monotonic()
        run.sampler.free()
        if run.pending or error is not None or not self._keep_cache:
            # Caching off, a prompt cut short (cancelled mid-prefill) or a failed decode: start clean.
            self._model.forget(slot.seq)
            slot.cached.clear()
            slot.session_id = None
        run.job.emit(run.decoder.decode(b"", final=True))  # also sends whatever was held
        self._finish(
            run.job,
            run.job.result(
                finish,
                prompt_tokens=run.fitted.prompt_tokens,
                completion_tokens=run.completion_tokens,
                dropped_turns=run.fitted.dropped_turns,
                cached_prompt_tokens=run.reused_tokens,
                error=error,
            ),
        )

    def _fail_all(self, error: EngineError) -> None:
        for slot in self.slots:
            if slot.run is not None:
                self._end(slot, "error", error)

    # Slots and the prefix cache.

    def _pick_slot(self, session_id: str) -> Slot:
        idle = [slot for slot in self.slots if slot.run is None]
        for slot in idle:
            if slot.session_id == session_id:
                return slot
        # An empty slot, else the least recently used session's cache is evicted.
        return min(idle, key=lambda slot: (slot.session_id is not None, slot.last_used))

    def _reuse_prefix(self, slot: Slot, prompt: list[int]) -> int:
        """Keep the cached tokens `prompt` starts with; returns how many (at most len(prompt) - 1)."""
        common = 0
        for cached, wanted in zip(slot.cached, prompt, strict=False):
            if cached != wanted:
                break
            common += 1
        # The last prompt token is always decoded again: its logits give the first reply token.
        common = min(common, len(prompt) - 1)
        if common < len(slot.cached):
            self._model.forget(slot.seq, common)
            del slot.cached[common:]
        return common
