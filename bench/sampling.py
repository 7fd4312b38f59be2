"""Which sampling defaults help SmolLM2-135M: a fixed set of questions, two objective measures.

For each sampling setting, every question is asked with several seeds (greedy once) and scored:
- keyword: the reply contains the expected answer (case-insensitive; e.g. "paris");
- repetition: of the reply's word 3-grams, the share that repeat an earlier one in the same reply
  (a looping tiny model scores high).
The host-side defaults (MODEL_MIN_P, MODEL_TOP_K, and the request's repeat penalty) are chosen from
this table (docs/engine.md). Last line: `best=<setting> keyword=K repetition=R`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from client_bot.engine import ChatTurn, EngineConfig, GenerationRequest, LlamaEngine

QUESTIONS = (
    ("What is the capital of France?", r"paris"),
    ("What colour is the sky on a clear day?", r"blue"),
    ("How many legs does a spider have?", r"\beight\b|\b8\b"),
    ("What is the largest planet in our solar system?", r"jupiter"),
    ("Which gas do plants take in from the air to make food?", r"carbon dioxide|co2"),
    ("Who wrote Romeo and Juliet?", r"shakespeare"),
    ("At what temperature in Celsius does water freeze?", r"\b0\b|zero"),
    ("What is the opposite of hot?", r"\bcold\b"),
)


@dataclass(frozen=True)
class Setting:
    name: str
    temperature: float
    top_p: float
    min_p: float
    top_k: int
    repeat_penalty: float


SETTINGS = (
    Setting("greedy-no-penalty", 0.0, 1.0, 0.0, 0, 1.0),
    Setting("greedy-penalty-1.1", 0.0, 1.0, 0.0, 0, 1.1),
    Setting("t0.7-plain", 0.7, 1.0, 0.0, 0, 1.0),
    Setting("t0.7-topp0.95-minp0.05-topk40-pen1.1", 0.7, 0.95, 0.05, 40, 1.1),
    Setting("t0.7-minp0.1-pen1.1", 0.7, 1.0, 0.1, 0, 1.1),
    Setting("t0.7-topp0.95-minp0.05-topk40-pen1.3", 0.7, 0.95, 0.05, 40, 1.3),
)


def repetition(text: str) -> float:
    words = text.lower().split()
    grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    if not grams:
        return 0.0
    return sum(1 for i, gram in enumerate(grams) if gram in grams[:i]) / len(grams)


async def score(engine: LlamaEngine, setting: Setting, seeds: int, max_tokens: int) -> tuple[float, float]:
    runs = 1 if setting.temperature == 0 else seeds
    requests = [
        (
            pattern,
            GenerationRequest(
                f"{setting.name}-{q}-{seed}",
                f"{setting.name}-{q}-{seed}",
                [ChatTurn("user", question)],
                max_tokens=max_tokens,
                temperature=setting.temperature,
                top_p=setting.top_p,
                min_p=setting.min_p,
                top_k=setting.top_k,
                repeat_penalty=setting.repeat_penalty,
                seed=seed,
            ),
        )
        for q, (question, pattern) in enumerate(QUESTIONS)
        for seed in range(runs)
    ]
    generations = [(pattern, engine.submit(request)) for pattern, request in requests]
    hits, repeats = [], []
    for pattern, generation in generations:
        text = (await generation.result()).text
        hits.append(1.0 if re.search(pattern, text, re.IGNORECASE) else 0.0)
        repeats.append(repetition(text))
    return statistics.mean(hits), statistics.mean(repeats)


async def run(args: argparse.Namespace) -> None:
    config = EngineConfig(n_ctx=1024, n_threads=2, n_parallel=8, prefix_cache=False)
    results: dict[str, tuple[float, float]] = {}
    async with LlamaEngine(config) as engine:
        for setting in SETTINGS:
            results[setting.name] = await score(engine, setting, args.seeds, args.max_tokens)
            keyword, repeated = results[setting.name]
            print(f"{setting.name:40s} keyword {keyword:5.1%}  repetition {repeated:5.1%}", flush=True)
    best = max(results, key=lambda name: (results[name][0], -results[name][1]))
    print(f"best={best} keyword={results[best][0]:.2f} repetition={results[best][1]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=96)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
