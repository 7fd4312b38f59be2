"""Throughput of the real engine on SmolLM2-135M (defaults: 2 threads, n_ctx 2048).

Runs a few greedy generations through `LlamaEngine` and prints, per run, prompt tokens, completion
tokens, time to first token and decode tokens/s; then four sessions at once to show the queue; then a
summary line `SUMMARY engine ...` with key=value pairs. Target: at least 20 completion tokens/s on 2
threads, the floor below which a chat reply of a few hundred tokens feels stuck.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from client_bot.engine import ChatTurn, EngineConfig, GenerationRequest, GenerationResult, LlamaEngine

TARGET_TOKENS_PER_S = 20.0
PROMPT = "Write a short story about a lizard who guards a castle."


def _request(request_id: str, session_id: str, max_tokens: int) -> GenerationRequest:
    return GenerationRequest(
        request_id, session_id, [ChatTurn("user", PROMPT)], max_tokens=max_tokens, temperature=0.0
    )


def _decode_tokens_per_s(result: GenerationResult) -> float:
    # From the first token on, so prompt processing does not count against decoding.
    assert result.first_token_s is not None
    decode_s = result.total_s - result.first_token_s
    return (result.completion_tokens - 1) / decode_s if decode_s > 0 else 0.0


async def _run(args: argparse.Namespace) -> None:
    config = EngineConfig(n_ctx=args.n_ctx, n_threads=args.threads)
    async with LlamaEngine(config) as engine:
        await engine.submit(_request("warm-up", "bench", 8)).result()
        rates: list[float] = []
        for i in range(args.runs):
            result = await engine.submit(_request(f"run-{i}", "bench", args.max_tokens)).result()
            rates.append(_decode_tokens_per_s(result))
            print(
                f"run {i}: prompt {result.prompt_tokens} tok, completion {result.completion_tokens} tok, "
                f"first token {result.first_token_s:.3f} s, decode {rates[-1]:.1f} tok/s"
            )
        generations = [engine.submit(_request(f"s{i}", f"session-{i}", 32)) for i in range(4)]
        results = [await generation.result() for generation in generations]
        waits = ", ".join(f"{r.queued_s:.2f}" for r in results)
        print(f"4 sessions at once: queue waits {waits} s, window {engine.stats().tokens_per_s:.1f} tok/s")
    median = statistics.median(rates)
    verdict = "met" if median >= TARGET_TOKENS_PER_S else "MISSED"
    print(
        f"SUMMARY engine model={engine.model_name} threads={args.threads} "
        f"decode_tok_s_median={median:.1f} target_tok_s={TARGET_TOKENS_PER_S:.0f} target={verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
