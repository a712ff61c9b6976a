"""Benchmark: how fast the simulated person simulates a 15-minute session.

One command, from the repository root::

    python benchmarks/physiology.py

(1) ``Person(...)`` construction (the loop delay is solved per person) and
    ``sample_people(40, ...)``;
(2) 15 minutes of beats from ``Person.next_beat``, following a prompt at 6/min and on
    their own;
(3) the same 15 minutes as strap notifications from ``SimulatedSource`` at full speed
    (grouping and 0x2A37 encoding included).

Medians over repeats. The target (issue 8): a 15-minute session in well under a second.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from biofeedback.physiology import Person, PersonParams, sample_people
from biofeedback.sources.simulated import SimulatedSource

REPEATS = 7


@dataclass(frozen=True)
class Shown:
    pace_bpm: float
    phase: float


def at_6(t_s: float) -> Shown:
    return Shown(6.0, (t_s / 10.0) % 1.0)


def median_s(f: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fifteen_minutes(sees: Callable[[float], Shown] | None) -> int:
    person = Person(PersonParams(artefact_rate=0.01), 1)
    n = 0
    while person.t_s < 900.0:
        person.next_beat(sees)
        n += 1
    return n


async def source_run() -> int:
    source = SimulatedSource(seed=1, sees=at_6, minutes=15)
    async with source:
        async for _ in source:
            pass
    return len(source.beats)


def main() -> None:
    beats = fifteen_minutes(at_6)
    print(f"Person(...) construction          {median_s(lambda: Person(PersonParams(), 1)) * 1e3:8.1f} ms")
    print(f"sample_people(40, 0)               {median_s(lambda: sample_people(40, 0)) * 1e3:8.1f} ms")
    print(f"15 min following 6/min ({beats} beats) {median_s(lambda: fifteen_minutes(at_6)) * 1e3:8.1f} ms")
    print(f"15 min on their own                {median_s(lambda: fifteen_minutes(None)) * 1e3:8.1f} ms")
    print(f"SimulatedSource 15 min, max speed  {median_s(lambda: asyncio.run(source_run())) * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
