"""Seal+open cost of one envelope, binary and via the Discord text form.

Prints one line per payload size with the median µs of a seal followed by an open (through the stateful
`EnvelopeChannel`, so the replay guard and the subkey cache are on the measured path), then a summary
line `SUMMARY envelope ...` with key=value pairs. Target: 1.5 KB binary seal+open median under 10 µs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.envelope import (
    Direction,
    EnvelopeChannel,
    KeyRing,
    encode_text,
    from_content,
    generate_key_hex,
)

SIZES = {"200B": 200, "1.5KB": 1536, "64KB": 65536}
TARGET_US = 10.0
TARGET_SIZE = "1.5KB"


def _median_us(round_trip: Callable[[], object], iterations: int) -> float:
    for _ in range(min(1000, iterations)):  # warm the subkey cache, allocator and branch predictors
        round_trip()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        round_trip()
        samples.append(clock() - start)
    return statistics.median(samples) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000)
    args = parser.parse_args()

    ring = KeyRing.from_hex(generate_key_hex())
    server = EnvelopeChannel(ring, Direction.SERVER_TO_CLIENT)
    client = EnvelopeChannel(ring, Direction.CLIENT_TO_SERVER)
    session = uuid.uuid4()
    # Warm caches, the subkey cache and the CPU's clock before the first measured size; without it the
    # first size measured absorbs the start-up cost and reads slower than larger ones.
    for _ in range(5000):
        client.open(server.seal(session, 1, bytes(1500)))
    results: dict[str, tuple[float, float]] = {}
    for label, size in SIZES.items():
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        # Big payloads are slower per call; fewer iterations keep the bench short.
        iterations = args.iterations if size <= 4096 else max(1000, args.iterations // 10)

        def binary(payload: bytes = payload) -> object:
            return client.open(server.seal(session, 1, payload))

        def text(payload: bytes = payload) -> object:
            # The text codec without Discord's 2000-character cap: it measures encoding cost at every size.
            return client.open(from_content(encode_text(server.seal(session, 1, payload)), max_chars=1 << 22))

        results[label] = (_median_us(binary, iterations), _median_us(text, iterations))
        print(
            f"{label:>6} payload: binary seal+open {results[label][0]:8.2f} µs median, "
            f"text form {results[label][1]:8.2f} µs median ({iterations} iterations)"
        )
    target_binary = results[TARGET_SIZE][0]
    pairs = " ".join(f"binary_{k}_us={b:.2f} text_{k}_us={t:.2f}" for k, (b, t) in results.items())
    verdict = "met" if target_binary < TARGET_US else "MISSED"
    print(f"SUMMARY envelope {pairs} target_{TARGET_SIZE}_us={TARGET_US:.1f} target={verdict}")


if __name__ == "__main__":
    main()
