"""What the encrypted Discord relay costs compared with calling llama-cpp directly.

The same prompt, system prompt and sampling (temperature 0, seed 42, top_p 0.95, repeat penalty 1.1,
128 new tokens) is run alternately:
- direct: `Llama.create_chat_completion(stream=True)` in a SEPARATE process (llama-cpp-python's own
  defaults, nothing of ours loaded), timed to the first and last token, at 1 and at 2 threads; the
  faster of the two each run is the baseline, i.e. the best a user gets from llama-cpp-python alone;
- relay: a user posts the prompt in their session channel on devcord; timed from that post to the first
  reply text and to the final reply edit, as devcord's event feed shows them to the user. In between:
  the server-bot, AES-GCM envelopes through the relay channel, the client-bot, the engine's queue and
  the streamed edits, all with Discord's rate limits enforced by devcord.
Prints per-run figures, medians, and as its last line:
    relay_overhead_ratio=R first_token_extra_ms=M discord_429=N
Targets: relay turn <= 1.10x the direct one, first visible token <= +150 ms, 0 Discord 429s. The
machine may be shared with other work: compare several runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client_bot.engine import ChatTurn, EngineConfig, GenerationRequest, LlamaEngine, default_model_path
from meatlizard.scripted_user import command_reply, has_regenerate_button, start_chat
from meatlizard.stack import Stack, StackOptions, running_devcord, running_stack
from server_bot.ratelimit import RateRules

SYSTEM = "You are a helpful assistant."
PROMPT = "Write a long story about a brave lizard who learns to fly over the mountains."
MAX_TOKENS = 128
SEED = 42
USER = "alice"
# A run that has not finished by then is a failure to report, not something to wait for.
RUN_LIMIT_S = 60
# What the server-bot appends to a reply that hit max_tokens (server_bot/exts/chat.py).
LENGTH_NOTE = "\n\n*(cut off at the reply length limit)*"


@dataclass
class Timing:
    first_s: float
    total_s: float
    text: str


def direct_run(llm: Any) -> Timing:
    started = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    for chunk in llm.create_chat_completion(
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}],
        max_tokens=MAX_TOKENS,
        temperature=0.0,
        top_p=0.95,
        repeat_penalty=1.1,
        seed=SEED,
        stream=True,
    ):
        text = chunk["choices"][0]["delta"].get("content") or ""
        if text and first is None:
            first = time.perf_counter() - started
        parts.append(text)
    total = time.perf_counter() - started
    return Timing(first or total, total, "".join(parts))


def direct_child(threads: int) -> None:
    """Child process: load the model with llama-cpp-python alone, one warm-up turn, one timed turn."""
    from llama_cpp import Llama  # noqa: PLC0415

    llm = Llama(
        model_path=str(default_model_path()),
        n_ctx=2048,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    direct_run(llm)
    timing = direct_run(llm)
    llm.close()
    print(json.dumps({"first_s": timing.first_s, "total_s": timing.total_s, "text": timing.text}))


def direct_best() -> tuple[Timing, int]:
    """The faster of llama-cpp-python alone at 1 and at 2 threads, each in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    best: tuple[Timing, int] | None = None
    for threads in (1, 2):
        out = subprocess.run(
            [sys.executable, __file__, "--direct-child", str(threads)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        timing = Timing(**json.loads(out.strip().splitlines()[-1]))
        if best is None or timing.total_s < best[0].total_s:
            best = (timing, threads)
    assert best is not None
    return best


async def engine_run(engine: LlamaEngine, run: int) -> Timing:
    """The client-bot's engine called in-process: the relay minus Discord, envelopes and bots."""
    request = GenerationRequest(
        request_id=f"bench-{run}",
        session_id="bench",
        messages=[ChatTurn("system", SYSTEM), ChatTurn("user", PROMPT)],
        max_tokens=MAX_TOKENS,
        temperature=0.0,
        seed=SEED,
    )
    started = time.perf_counter()
    first: float | None = None
    async for event in engine.generate(request):
        if isinstance(event, str):
            first = first if first is not None else time.perf_counter() - started
        else:
            return Timing(first or 0.0, time.perf_counter() - started, event.text)
    raise RuntimeError("the engine ended without a result")


async def relay_run(stack: Stack, channel: int, cursor: list[int]) -> Timing:
    driver = stack.driver
    await command_reply(driver, USER, channel, "chat reset")
    cursor[0] = await _drain(stack, cursor[0])
    started = time.perf_counter()
    await driver.post(channel, USER, PROMPT)
    async with asyncio.timeout(RUN_LIMIT_S):
        return await _watch_reply(stack, channel, cursor, started)


async def _watch_reply(stack: Stack, channel: int, cursor: list[int], started: float) -> Timing:
    driver = stack.driver
    first: float | None = None
    while True:
        feed = await driver.events(USER, after=cursor[0], wait_s=30)
        cursor[0] = feed["last_seq"]
        for event in feed["events"]:
            message = event.get("d") or {}
            if event.get("t") not in {"MESSAGE_CREATE", "MESSAGE_UPDATE"}:
                continue
            if int(message.get("channel_id", 0)) != channel or not message.get("author", {}).get("bot"):
                continue
            if first is None and message.get("content"):
                first = time.perf_counter() - started
            if has_regenerate_button(message):
                total = time.perf_counter() - started
                return Timing(first or total, total, message["content"].removesuffix(LENGTH_NOTE))


async def _drain(stack: Stack, after: int) -> int:
    feed = await stack.driver.events(USER, after=after, wait_s=0)
    return int(feed["last_seq"])


async def bench(runs: int) -> None:
    config = EngineConfig(n_ctx=2048, n_threads=2)
    options = StackOptions(
        Path(tempfile.mkdtemp(prefix="relay-bench-")),
        chat={"system_prompt": SYSTEM, "default_temperature": 0.0, "default_max_tokens": MAX_TOKENS},
        # The default 6 prompts/minute per user would (rightly) refuse a bench's back-to-back prompts.
        rate_rules=RateRules(prompt_per_user="1000/minute", command_per_user="1000/minute"),
    )
    engine = LlamaEngine(config)
    async with running_devcord() as devcord, running_stack(devcord, engine, options) as stack:
        channel = await start_chat(stack.driver, USER)
        cursor = [await _drain(stack, 0)]
        await relay_run(stack, channel, cursor)  # warm-up
        direct: list[Timing] = []
        in_process: list[Timing] = []
        relay: list[Timing] = []
        direct_threads: list[int] = []
        for run in range(runs):
            # Rotate the order so drift in machine load falls on every path alike.
            order = ["direct", "engine", "relay"]
            for path in order[run % 3 :] + order[: run % 3]:
                if path == "direct":
                    timing, threads = await asyncio.to_thread(direct_best)
                    direct.append(timing)
                    direct_threads.append(threads)
                elif path == "engine":
                    in_process.append(await engine_run(engine, run))
                else:
                    relay.append(await relay_run(stack, channel, cursor))
            print(
                f"run {run + 1}: "
                + " | ".join(
                    f"{name} first {t.first_s * 1000:5.0f} ms total {t.total_s:5.2f} s"
                    for name, t in (
                        (f"llama-cpp ({direct_threads[-1]}t, own process)", direct[-1]),
                        ("engine", in_process[-1]),
                        ("relay", relay[-1]),
                    )
                ),
                flush=True,
            )
        served_429 = await stack.driver.served_429()
    _summary(direct, in_process, relay, served_429)


def _summary(direct: list[Timing], in_process: list[Timing], relay: list[Timing], served_429: int) -> None:
    e_total = statistics.median(t.total_s for t in in_process)
    d_total = statistics.median(t.total_s for t in direct)
    r_total = statistics.median(t.total_s for t in relay)
    d_first = statistics.median(t.first_s for t in direct)
    r_first = statistics.median(t.first_s for t in relay)
    same = all(d.text.strip() == r.text.strip() for d, r in zip(direct, relay, strict=True))
    if not same:
        print(f"direct: {direct[0].text[:300]!r}\nrelay:  {relay[0].text[:300]!r}")
    print(f"median direct: first token {d_first * 1000:.0f} ms, total {d_total:.3f} s")
    print(f"median engine: total {e_total:.3f} s (the client-bot's engine in-process, no Discord)")
    print(f"median relay:  first text  {r_first * 1000:.0f} ms, total {r_total:.3f} s")
    print(f"relay vs in-process engine: {r_total / e_total:.3f}")
    print(f"same reply text on both paths: {same} ({len(direct[0].text)} characters)")
    print(
        f"relay_overhead_ratio={r_total / d_total:.3f} "
        f"first_token_extra_ms={(r_first - d_first) * 1000:.0f} discord_429={served_429}"
    )


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--runs", type=int, default=6, help="measured runs per path (default 6)")
    cli.add_argument("--direct-child", type=int, help=argparse.SUPPRESS)  # child process: threads
    args = cli.parse_args()
    if args.direct_child:
        direct_child(args.direct_child)
        return
    asyncio.run(bench(args.runs))


if __name__ == "__main__":
    main()
