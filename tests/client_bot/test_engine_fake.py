"""FakeEngine, and through it the queueing, cancellation and bookkeeping every engine shares."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from client_bot.engine import (
    ChatTurn,
    EngineNotRunning,
    FakeEngine,
    GenerationRequest,
    GenerationResult,
    InvalidRequest,
    PromptTooLong,
    long_reply,
)
from client_bot.engine.fake import fake_tokens


def ask(
    request_id: str,
    text: str = "hello there",
    session_id: str = "s1",
    *,
    max_tokens: int = 64,
    temperature: float = 0.0,
    top_p: float = 0.95,
) -> GenerationRequest:
    return GenerationRequest(
        request_id,
        session_id,
        [ChatTurn("user", text)],
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
    )


@pytest.fixture
async def engine() -> AsyncIterator[FakeEngine]:
    async with FakeEngine("one two three four five six") as fake:
        yield fake


@pytest.fixture
async def slow_engine() -> AsyncIterator[FakeEngine]:
    async with FakeEngine("one two three four five six seven eight", token_delay_s=0.01) as fake:
        yield fake


async def collect(engine: FakeEngine, request: GenerationRequest) -> tuple[list[str], GenerationResult]:
    deltas: list[str] = []
    async for event in engine.generate(request):
        if isinstance(event, str):
            deltas.append(event)
        else:
            return deltas, event
    raise AssertionError("the stream ended without a result")


async def test_deltas_concatenate_to_the_final_text(engine: FakeEngine) -> None:
    deltas, result = await collect(engine, ask("r1"))
    assert deltas == ["one", " two", " three", " four", " five", " six"]
    assert result.text == "".join(deltas) == "one two three four five six"
    assert (result.finish_reason, result.completion_tokens, result.dropped_turns) == ("stop", 6, 0)
    assert result.error is None


async def test_default_reply_echoes_the_latest_message() -> None:
    async with FakeEngine() as fake:
        _, result = await collect(fake, ask("r1", "ping"))
    assert result.text == "You said: ping"


async def test_reply_is_cut_at_max_tokens(engine: FakeEngine) -> None:
    _, result = await collect(engine, ask("r1", max_tokens=4))
    assert result.text == "one two three four"
    assert (result.finish_reason, result.completion_tokens) == ("length", 4)


async def test_deltas_and_result_can_be_read_separately(engine: FakeEngine) -> None:
    generation = engine.submit(ask("r1"))
    text = "".join([delta async for delta in generation.deltas()])
    result = await generation.result()
    assert text == result.text
    assert await generation.result() is result


async def test_cancel_mid_stream_keeps_the_partial_text(slow_engine: FakeEngine) -> None:
    generation = slow_engine.submit(ask("r1"))
    deltas = []
    async for delta in generation.deltas():
        deltas.append(delta)
        if len(deltas) == 2:
            assert generation.cancel()
    result = await generation.result()
    assert result.finish_reason == "cancelled"
    assert result.text == "".join(deltas) == "one two"
    assert result.completion_tokens == 2


async def test_request_cancelled_while_queued_never_runs(slow_engine: FakeEngine) -> None:
    running = slow_engine.submit(ask("r1"))
    queued = slow_engine.submit(ask("r2"))
    await anext(running.deltas())  # r1 is running, r2 waits
    assert slow_engine.queue_depth == 1
    assert slow_engine.cancel("r2")
    result = await queued.result()
    assert (result.finish_reason, result.text, result.completion_tokens) == ("cancelled", "", 0)
    assert result.first_token_s is None
    assert slow_engine.queue_depth == 0
    assert (await running.result()).finish_reason == "stop"


async def test_cancelling_an_unknown_or_finished_request_returns_false(engine: FakeEngine) -> None:
    await collect(engine, ask("r1"))
    assert not engine.cancel("r1")
    assert not engine.cancel("never-submitted")


async def test_leaving_the_generate_loop_early_cancels_the_request(slow_engine: FakeEngine) -> None:
    stream = slow_engine.generate(ask("r1"))
    async for _ in stream:
        break
    await stream.aclose()
    # r2 queues behind r1 in the same session, so r1 has finished by the time r2 has.
    _, result = await collect(slow_engine, ask("r2"))
    assert result.finish_reason == "stop"
    cut_short, complete = slow_engine.stats().recent
    assert cut_short.completion_tokens < complete.completion_tokens == 8


async def test_sessions_take_turns(engine: FakeEngine) -> None:
    requests = [ask("a1", session_id="a"), ask("a2", session_id="a"), ask("a3", session_id="a")]
    requests.append(ask("b1", session_id="b"))
    generations = [engine.submit(request) for request in requests]
    finished: list[str] = []

    async def wait(request_id: str, generation_result: asyncio.Future[GenerationResult]) -> None:
        await generation_result
        finished.append(request_id)

    await asyncio.gather(*(wait(g.request_id, asyncio.ensure_future(g.result())) for g in generations))
    assert finished == ["a1", "b1", "a2", "a3"]


async def test_long_reply_streams_intact_with_its_code_fence() -> None:
    text = long_reply(5000)
    async with FakeEngine(text) as fake:
        _, result = await collect(fake, ask("r1", max_tokens=10_000))
    assert result.text == text
    assert len(text) >= 5000
    assert text.count("```") == 2
    assert result.completion_tokens == len(fake_tokens(text))


async def test_engine_error_from_the_reply_ends_the_stream_with_an_error_result() -> None:
    def refuse(request: GenerationRequest) -> str:
        raise PromptTooLong(5000, 2000)

    async with FakeEngine(refuse) as fake:
        deltas, result = await collect(fake, ask("r1"))
    assert (deltas, result.finish_reason) == ([], "error")
    assert isinstance(result.error, PromptTooLong)
    with pytest.raises(PromptTooLong):
        result.raise_for_error()


async def test_over_long_history_drops_oldest_turns_when_n_ctx_is_set() -> None:
    history = [ChatTurn("system", "be brief")]
    for i in range(20):
        history += [ChatTurn("user", f"question {i} " * 10), ChatTurn("assistant", f"answer {i} " * 10)]
    history.append(ChatTurn("user", "and now?"))
    async with FakeEngine("ok", n_ctx=200) as fake:
        _, result = await collect(fake, GenerationRequest("r1", "s1", history, max_tokens=16))
    assert result.finish_reason == "stop"
    assert result.dropped_turns > 0
    assert result.prompt_tokens <= 200 - 16


async def test_submit_before_start_is_refused() -> None:
    fake = FakeEngine()
    with pytest.raises(EngineNotRunning):
        fake.submit(ask("r1"))


async def test_submit_after_close_is_refused() -> None:
    async with FakeEngine() as fake:
        pass
    assert not fake.loaded
    with pytest.raises(EngineNotRunning):
        fake.submit(ask("r1"))


async def test_duplicate_request_id_in_flight_is_refused(slow_engine: FakeEngine) -> None:
    slow_engine.submit(ask("r1"))
    with pytest.raises(InvalidRequest):
        slow_engine.submit(ask("r1", session_id="other"))


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param(GenerationRequest("r1", "s1", []), id="no-messages"),
        pytest.param(ask("r1", max_tokens=0), id="zero-max-tokens"),
        pytest.param(ask("r1", temperature=-0.5), id="negative-temperature"),
        pytest.param(ask("r1", top_p=0.0), id="zero-top-p"),
    ],
)
async def test_malformed_request_is_refused(engine: FakeEngine, malformed: GenerationRequest) -> None:
    with pytest.raises(InvalidRequest):
        engine.submit(malformed)


async def test_close_cancels_running_and_queued_requests() -> None:
    fake = FakeEngine("x " * 100, token_delay_s=0.01)
    await fake.start()
    running = fake.submit(ask("r1"))
    queued = fake.submit(ask("r2"))
    await anext(running.deltas())
    await fake.close()
    assert (await running.result()).finish_reason == "cancelled"
    assert (await queued.result()).finish_reason == "cancelled"


async def test_stats_report_model_queue_and_throughput(slow_engine: FakeEngine) -> None:
    assert slow_engine.stats().tokens_per_s is None
    first = slow_engine.submit(ask("r1"))
    slow_engine.submit(ask("r2"))
    await anext(first.deltas())
    stats = slow_engine.stats()
    assert (stats.model_name, stats.loaded, stats.queue_depth) == ("fake-engine", True, 1)
    await first.result()
    stats = slow_engine.stats()
    assert stats.tokens_per_s is not None and stats.tokens_per_s > 0
    assert stats.recent[-1].completion_tokens == 8


async def test_a_fake_engine_with_slots_streams_that_many_requests_at_once() -> None:
    reply = " ".join(f"w{n}" for n in range(10))
    async with FakeEngine(reply, token_delay_s=0.05, slots=3) as engine:  # each request takes ~0.5 s
        generations = [engine.submit(ask(f"r{n}", session_id=f"s{n}")) for n in range(4)]
        await asyncio.sleep(0.03)
        stats = engine.stats()
        assert (stats.running, stats.queue_depth, stats.slots_total, stats.slots_free) == (3, 1, 3, 0)
        results = [await generation.result() for generation in generations]
    assert [result.text for result in results] == [reply] * 4


def test_a_fake_engine_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        FakeEngine(slots=0)
