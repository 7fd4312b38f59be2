"""LlamaEngine on the real SmolLM2-135M model (2 threads, small max_tokens so this stays fast)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from client_bot.engine import (
    ChatTurn,
    EngineConfig,
    GenerationRequest,
    GenerationResult,
    InvalidRequest,
    LlamaEngine,
    ModelLoadError,
    ModelNotFound,
    PromptTooLong,
)
from tests.fixtures.model import TEST_N_CTX

pytestmark = pytest.mark.llm

QUESTION = "What is the capital of France?"


def ask(
    request_id: str,
    messages: list[ChatTurn] | None = None,
    *,
    session_id: str = "s1",
    max_tokens: int = 16,
    temperature: float = 0.0,
    seed: int | None = None,
) -> GenerationRequest:
    return GenerationRequest(
        request_id,
        session_id,
        messages or [ChatTurn("user", QUESTION)],
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )


async def collect(engine: LlamaEngine, request: GenerationRequest) -> tuple[list[str], GenerationResult]:
    deltas: list[str] = []
    async for event in engine.generate(request):
        if isinstance(event, str):
            deltas.append(event)
        else:
            return deltas, event
    raise AssertionError("the stream ended without a result")


async def test_streamed_deltas_concatenate_to_the_final_text(llama_engine: LlamaEngine) -> None:
    deltas, result = await collect(llama_engine, ask("stream"))
    assert len(deltas) > 1
    assert "".join(deltas) == result.text != ""
    assert result.finish_reason in ("stop", "length")
    assert 0 < result.completion_tokens <= 16
    assert result.first_token_s is not None and result.first_token_s <= result.total_s


async def test_max_tokens_ends_the_reply_with_length(llama_engine: LlamaEngine) -> None:
    story = [ChatTurn("user", "Tell me a long story about a lizard who lives in a castle.")]
    _, result = await collect(llama_engine, ask("length", story, max_tokens=8))
    assert (result.finish_reason, result.completion_tokens) == ("length", 8)


@pytest.mark.parametrize(
    ("temperature", "seed"),
    [pytest.param(0.0, None, id="greedy"), pytest.param(0.8, 1234, id="sampled-fixed-seed")],
)
async def test_generation_is_reproducible(
    llama_engine: LlamaEngine, temperature: float, seed: int | None
) -> None:
    _, first = await collect(llama_engine, ask("first", temperature=temperature, seed=seed))
    _, second = await collect(llama_engine, ask("second", temperature=temperature, seed=seed))
    assert first.text == second.text


async def test_the_models_chat_template_is_applied(llama_engine: LlamaEngine) -> None:
    bare_tokens = len(QUESTION.split())
    _, default_system = await collect(llama_engine, ask("default-system"))
    pirate_prompt = "You are a pirate. Always answer like a pirate."
    custom = [ChatTurn("system", pirate_prompt), ChatTurn("user", QUESTION)]
    _, pirate = await collect(llama_engine, ask("pirate", custom))
    # SmolLM2's template adds role markers and, without a system turn, its own default system prompt.
    assert default_system.prompt_tokens > bare_tokens + 15
    assert pirate.prompt_tokens != default_system.prompt_tokens
    assert pirate.text != default_system.text


async def test_more_requests_than_slots_are_admitted_in_fair_turns(llama_engine: LlamaEngine) -> None:
    slots = llama_engine.stats().slots_total
    requests = [ask(f"a{i}", session_id="a", max_tokens=8) for i in range(slots + 2)]
    requests.append(ask("b1", session_id="b", max_tokens=8))
    requests.append(ask("b2", session_id="b", max_tokens=8))
    generations = [llama_engine.submit(request) for request in requests]
    results = await asyncio.gather(*(generation.result() for generation in generations))
    assert all(result.finish_reason in ("stop", "length") for result in results)
    # Submitted together, so the time each waited orders them by admission.
    admitted = [
        r.request_id for _, r in sorted(zip(results, requests, strict=True), key=lambda p: p[0].queued_s)
    ]
    assert admitted[:4] == ["a0", "b1", "a1", "b2"]
    assert sorted(admitted[4:]) == sorted(f"a{i}" for i in range(2, slots + 2))


async def test_cancel_mid_stream_stops_early_with_the_partial_text(llama_engine: LlamaEngine) -> None:
    story = [ChatTurn("user", "Tell me a long story about a lizard who lives in a castle.")]
    generation = llama_engine.submit(ask("cancel-me", story, max_tokens=64))
    deltas = []
    async for delta in generation.deltas():
        deltas.append(delta)
        if len(deltas) == 3:
            generation.cancel()
    result = await generation.result()
    assert result.finish_reason == "cancelled"
    assert result.text == "".join(deltas)
    assert 3 <= result.completion_tokens < 64


async def test_request_cancelled_while_queued_never_runs(llama_engine: LlamaEngine) -> None:
    # Every slot busy first, so the next request really waits in the queue.
    slots = llama_engine.stats().slots_total
    running = [llama_engine.submit(ask(f"running-{n}", max_tokens=16)) for n in range(slots)]
    queued = llama_engine.submit(ask("queued", max_tokens=16))
    assert llama_engine.cancel("queued")
    result = await queued.result()
    assert (result.finish_reason, result.text, result.completion_tokens, result.first_token_s) == (
        "cancelled",
        "",
        0,
        None,
    )
    for generation in running:
        assert (await generation.result()).finish_reason in ("stop", "length")


async def test_over_long_history_drops_the_oldest_turns(smollm2_path: Path) -> None:
    # A small context of its own keeps the prompt (and so this test) short on 2 cores.
    n_ctx, max_tokens = 384, 16
    history = [ChatTurn("system", "You are a helpful assistant.")]
    for i in range(20):
        history.append(ChatTurn("user", f"Tell me lizard fact number {i}, in detail please."))
        history.append(ChatTurn("assistant", f"Lizard fact {i}: lizards are reptiles with scaly skin."))
    history.append(ChatTurn("user", "Which animal were we talking about?"))
    config = EngineConfig(model_path=smollm2_path, n_ctx=n_ctx, n_threads=2)
    async with LlamaEngine(config) as engine:
        _, result = await collect(engine, ask("long-history", history, max_tokens=max_tokens))
    assert result.finish_reason in ("stop", "length")
    assert 0 < result.dropped_turns < len(history) - 2
    assert result.prompt_tokens <= n_ctx - max_tokens


async def test_latest_turn_longer_than_the_context_is_reported_as_prompt_too_long(
    llama_engine: LlamaEngine,
) -> None:
    huge = [ChatTurn("user", "lizard " * 3000)]
    deltas, result = await collect(llama_engine, ask("huge", huge))
    assert (deltas, result.finish_reason) == ([], "error")
    assert isinstance(result.error, PromptTooLong)
    assert result.error.budget == TEST_N_CTX - 16


async def test_max_tokens_that_fills_the_whole_context_is_refused(llama_engine: LlamaEngine) -> None:
    with pytest.raises(InvalidRequest):
        llama_engine.submit(ask("too-many", max_tokens=TEST_N_CTX))


async def test_event_loop_keeps_running_during_generation(llama_engine: LlamaEngine) -> None:
    gaps: list[float] = []

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    story = [ChatTurn("user", "Tell me a long story about a lizard who lives in a castle.")]
    started = time.monotonic()
    _, result = await collect(llama_engine, ask("responsive", story, max_tokens=96))
    took_s = time.monotonic() - started
    ticker.cancel()
    assert result.completion_tokens > 0
    assert len(gaps) >= 5
    # A loop blocked by the generation would show one gap about as long as the whole generation; the
    # spinning decode threads may delay a tick by scheduler noise (~0.15 s on a loaded 2-core machine).
    assert max(gaps) < max(0.25, took_s / 3)


async def test_stats_report_the_model_and_recent_throughput(llama_engine: LlamaEngine) -> None:
    await collect(llama_engine, ask("stats"))
    stats = llama_engine.stats()
    assert (stats.model_name, stats.loaded, stats.queue_depth) == ("SmolLM2-135M-Instruct.Q4_1", True, 0)
    assert stats.tokens_per_s is not None and stats.tokens_per_s > 0


def test_missing_model_file_is_reported_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        LlamaEngine(EngineConfig(model_path=tmp_path / "absent.gguf"))


async def test_file_that_is_not_a_model_fails_to_load(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"definitely not gguf" * 100)
    engine = LlamaEngine(EngineConfig(model_path=bogus))
    with pytest.raises(ModelLoadError):
        await engine.start()
    assert not engine.loaded
