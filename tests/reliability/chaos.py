"""`make chaos`: faults on live conversations, each checked against behaviour written down first.

Every scenario starts a fresh deployment (separate processes, PostgreSQL + Redis + SeaweedFS unless
it says otherwise), opens chats for a few people who talk turn by turn, injects its fault while a reply
is being written, lets the conversations finish, and runs the history checker on what people saw. A
scenario passes when the checker finds nothing lost, duplicated, out of order or in the wrong channel,
and the fault's own promise held (e.g. the offline notice within 30 s).

    python -m tests.reliability.chaos                 # every scenario, prints the table
    python -m tests.reliability.chaos sigkill-client  # the named ones only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.deployment import Deployment, Options
from tests.reliability.faults import FAULTS, Fault, Stage
from tests.reliability.history import Report, check_transcript
from tests.reliability.people import Person
from tests.reliability.processes import Backends


@dataclass
class Result:
    name: str
    expected: str
    observed: str
    report: Report
    fault_ok: bool
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.fault_ok and self.report.ok and not self.problems


async def run_scenario(fault: Fault, workdir: Path, backends: Backends | None) -> Result:
    started = time.monotonic()
    options = Options(backends=backends if fault.backends else None, **fault.options)
    if fault.prepare is not None:
        fault.prepare(workdir, options)
    deployment = await Deployment.up(workdir, options)
    people = [Person(deployment.driver, f"p{i}-{fault.name}") for i in range(fault.people)]
    problems: list[str] = []
    try:
        for person in people:
            await person.join()
        stage = Stage(deployment, people, backends)
        talks = [
            asyncio.create_task(p.converse(fault.turns, within_s=fault.turn_timeout_s, words=fault.words))
            for p in people
        ]
        try:
            observed, fault_ok = await asyncio.wait_for(fault.inject(stage), fault.fault_timeout_s)
        except TimeoutError:
            observed, fault_ok = "fault step timed out", False
        # Bounded: a dead chat must cost one scenario a minute, not the whole run an hour.
        done, pending = await asyncio.wait(talks, timeout=fault.settle_s)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                problems.append(f"conversation failed: {task.exception()!r}")
        await asyncio.sleep(1.0)  # a late duplicate would land here
        ids = [p.channel_id for p in people]
        channels = await deployment.channels(ids)
        report = deployment.check_channels(channels)
        if fault.backends and backends is not None and fault.check_transcripts:
            problems += await _transcripts(deployment, people, channels, backends)
    finally:
        await deployment.down()
    return Result(
        fault.name, fault.expected, observed, report, fault_ok, time.monotonic() - started, problems
    )


async def _transcripts(
    deployment: Deployment, people: Sequence[Person], channels: dict[int, Any], backends: Backends
) -> list[str]:
    """End every chat and compare each saved transcript with what its channel showed."""
    problems = []
    for person in people:
        try:
            await deployment.driver.command(person.name, "general", "chat end")
        except Exception as exc:  # reported, not raised: one chat must not hide the others
            problems.append(f"/chat end for {person.name}: {exc!r}")
    client = backends.s3.server.client()
    by_channel: dict[int, Any] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(by_channel) < len(people):
        listed = await asyncio.to_thread(client.list_objects_v2, Bucket=deployment.s3_bucket)
        for item in listed.get("Contents", []):
            if item["Key"].endswith(".json"):
                body = await asyncio.to_thread(
                    client.get_object, Bucket=deployment.s3_bucket, Key=item["Key"]
                )
                document = json.loads(body["Body"].read())
                by_channel[int(document["session"]["channel_id"])] = document
        await asyncio.sleep(0.5)
    for person in people:
        document = by_channel.get(person.channel_id)
        if document is None:
            problems.append(f"{person.name}: no transcript saved")
            continue
        bots = deployment.bot_ids.values()
        problems += [
            f"{person.name}: {p}"
            for p in check_transcript(channels[person.channel_id], document["turns"], bots)
        ]
    return problems


def print_table(results: Sequence[Result], out: Any = sys.stdout) -> None:
    header = ("scenario", "pass", "accepted", "answered", "notices", "lost", "dup", "order", "secs")
    rows = [
        (
            r.name,
            "PASS" if r.passed else "FAIL",
            r.report.accepted,
            r.report.answered,
            r.report.notices,
            r.report.lost,
            r.report.duplicated,
            r.report.out_of_order,
            f"{r.seconds:.0f}",
        )
        for r in results
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header), file=out)
    for r, row in zip(results, rows, strict=True):
        print(line.format(*row), file=out)
        print(f"    expected: {r.expected}", file=out)
        print(f"    observed: {r.observed}", file=out)
        for problem in [*r.problems, *r.report.problems][:6]:
            print(f"    problem:  {problem}", file=out)
    lost = sum(r.report.lost for r in results)
    duplicated = sum(r.report.duplicated for r in results)
    out_of_order = sum(r.report.out_of_order for r in results)
    passed = sum(r.passed for r in results)
    print(
        f"lost={lost} duplicated={duplicated} out_of_order={out_of_order} "
        f"scenarios_passed={passed}/{len(results)}",
        file=out,
        flush=True,
    )


async def run(names: Sequence[str], root: Path) -> list[Result]:
    chosen = [f for f in FAULTS if not names or f.name in names]
    backends = Backends.start() if any(f.backends for f in chosen) else None
    results = []
    try:
        for fault in chosen:
            print(f"--- {fault.name}: {fault.expected}", flush=True)
            try:
                result = await run_scenario(fault, root / fault.name, backends)
            except Exception as exc:  # a scenario that cannot even run is a failed row
                result = Result(
                    fault.name, fault.expected, f"could not run: {exc!r}"[:300], Report(), False, 0
                )
            print(f"    {'PASS' if result.passed else 'FAIL'} {result.report.summary()} | {result.observed}")
            results.append(result)
    finally:
        if backends is not None:
            backends.close()
    return results


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # so every `finally` stops the processes and backends it started


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(prog="chaos", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list scenarios and what each expects")
    parser.add_argument("--workdir", type=Path, default=None, help="keep logs here (default: a temp dir)")
    args = parser.parse_args()
    if args.list:
        for fault in FAULTS:
            print(f"{fault.name}: {fault.expected}")
        return
    root = args.workdir or Path(tempfile.mkdtemp(prefix="meatlizard-chaos-"))
    print(f"logs: {root}", flush=True)
    results = asyncio.run(run(args.names, root))
    print()
    print_table(results)
    raise SystemExit(0 if all(r.passed for r in results) else 1)


if __name__ == "__main__":
    main()
