"""Load: many people chatting at once through the deployed product (separate processes, devcord).

    python bench/load.py                      # 100 people x 10 turns on fast fake engines
    python bench/load.py --real-model         # and 20 people x 3 turns on SmolLM2 (slow on 2 cores)
    python bench/load.py --people 20 --turns 3 --embedded   # quicker: SQLite, no Redis/S3

Prints, per run: prompts accepted / answered / notices / lost / duplicated / out of order (the history
checker on what people saw), p50/p95 time to first visible text and to the final reply, the 429s devcord
served, and each bot's resident memory before and after. Targets: 0 lost, 0 duplicated, 0 Discord
429s, p95 first visible text under 1 s on fake engines at 100 people. Timings are wall-clock on a
shared machine: expect noise, compare runs side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.deployment import Deployment, Options
from tests.reliability.history import Report
from tests.reliability.people import Person
from tests.reliability.processes import Backends


@dataclass
class Figures:
    label: str
    report: Report
    first_text: list[float]
    final: list[float]
    served_429: int
    rss_before: dict[str, float | None]
    rss_after: dict[str, float | None]
    seconds: float
    asked: int = 0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run_load(
    label: str,
    people: int,
    turns: int,
    options: Options,
    workdir: Path,
    *,
    max_s: float,
    join_batch: int = 10,
) -> Figures:
    started = time.monotonic()
    deployment = await Deployment.up(workdir, options)
    try:
        rss_before = {n: deployment.processes[n].rss_mb() for n in ("server-bot", "client-bot")}
        crowd = [
            Person(deployment.driver, f"load{i}", tagged=options.token_delay_s is not None)
            for i in range(people)
        ]
        for i in range(0, people, join_batch):
            await asyncio.gather(*(p.join() for p in crowd[i : i + join_batch]))
        before_429 = await deployment.driver.served_429()
        per_turn_s = 60.0 if options.token_delay_s is not None else 600.0
        stop_at = time.monotonic() + max_s  # no new turn after this; the ones asked may still finish
        talks = [p.converse(turns, within_s=per_turn_s, stop_at=stop_at) for p in crowd]
        await asyncio.gather(*talks)
        await asyncio.sleep(1.0)
        served = await deployment.driver.served_429() - before_429
        rss_after = {n: deployment.processes[n].rss_mb() for n in ("server-bot", "client-bot")}
        report = await deployment.check([p.channel_id for p in crowd])
    finally:
        await deployment.down()
    turns_done = [t for p in crowd for t in p.turns]
    return Figures(
        label,
        report,
        [t.first_text_s for t in turns_done if t.first_text_s is not None],
        [t.final_s for t in turns_done if t.final_s is not None],
        served,
        rss_before,
        rss_after,
        time.monotonic() - started,
        len(turns_done),
    )


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}MB"


def print_figures(figures: Figures) -> None:
    r = figures.report
    print(f"== {figures.label} ({figures.seconds:.0f} s wall, {figures.asked} prompts asked)")
    print(f"   {r.summary()}")
    print(
        f"   first visible text p50 {_s(percentile(figures.first_text, 50))} "
        f"p95 {_s(percentile(figures.first_text, 95))} | final reply p50 {_s(percentile(figures.final, 50))} "
        f"p95 {_s(percentile(figures.final, 95))} | n={len(figures.final)}"
    )
    print(f"   Discord 429s served by devcord: {figures.served_429}")
    for name in ("server-bot", "client-bot"):
        print(f"   {name} RSS {_mb(figures.rss_before[name])} -> {_mb(figures.rss_after[name])}")
    for problem in r.problems[:10]:
        print(f"   problem: {problem}")
    target = (
        r.lost == 0
        and r.duplicated == 0
        and figures.served_429 == 0
        and (percentile(figures.first_text, 95) or 99) < 1.0
    )
    print(
        f"   targets (0 lost, 0 duplicated, 0 429s, p95 first text < 1 s): {'met' if target else 'NOT met'}"
    )


async def main_async(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="meatlizard-load-"))
    print(f"logs: {root}", flush=True)
    backends = None if args.embedded else Backends.start()
    ok = True
    try:
        if not args.no_fake:
            fake = Options(token_delay_s=args.token_delay_s, backends=backends)
            figures = await run_load(
                f"{args.people} people x {args.turns} turns, fake engine at {args.token_delay_s}s/word",
                args.people,
                args.turns,
                fake,
                root / "fake",
                max_s=args.max_minutes * 60,
            )
            print_figures(figures)
            ok = ok and figures.report.lost == 0 and figures.report.duplicated == 0
        if args.real_model:
            real = Options(token_delay_s=None, backends=backends, extra_env={"CHAT_DEFAULT_MAX_TOKENS": "64"})
            figures = await run_load(
                f"{args.real_people} people x {args.real_turns} turns, SmolLM2 (max 64 tokens)",
                args.real_people,
                args.real_turns,
                real,
                root / "real",
                max_s=args.max_minutes * 60,
            )
            print_figures(figures)
            ok = ok and figures.report.lost == 0 and figures.report.duplicated == 0
    finally:
        if backends is not None:
            backends.close()
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description="Load through the deployed product (see module doc).")
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--token-delay-s", type=float, default=0.01)
    parser.add_argument("--real-model", action="store_true", help="also run the SmolLM2 part")
    parser.add_argument("--no-fake", action="store_true", help="skip the fake-engine part")
    parser.add_argument("--real-people", type=int, default=20)
    parser.add_argument("--real-turns", type=int, default=3)
    parser.add_argument(
        "--max-minutes", type=float, default=15, help="no new turn after this (a slow relay cannot hang it)"
    )
    parser.add_argument("--embedded", action="store_true", help="SQLite, in-process limits, local folder")
    raise SystemExit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
