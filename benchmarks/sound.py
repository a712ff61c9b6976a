"""Benchmark: the breathing tone's synthesis cost as a share of one core at real time.

One command, from the repository root::

    python benchmarks/sound.py

Renders 60 s of sound at 48 kHz in 1024-sample blocks, the way the audio callback does (the
beat-clock times of each block from BlockClock, fullness from a raised-cosine breath at
6 /min, then BreathSynth.render), single-threaded, and prints the median over repeats of
render time / 60 s. Target: under 5% of one core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from biofeedback.sound import BlockClock, BreathSynth

RATE_HZ = 48000.0
BLOCK = 1024
SECONDS = 60.0
TARGET = 0.05  # share of one core


def fullness_at(t_s: npt.NDArray[np.float64], pace_bpm: float = 6.0, inhale_share: float = 0.4) -> npt.NDArray[np.float64]:
    phase = (t_s * pace_bpm / 60.0) % 1.0
    inhale = 0.5 - 0.5 * np.cos(np.pi * np.clip(phase / inhale_share, 0.0, 1.0))
    exhale = 0.5 + 0.5 * np.cos(np.pi * np.clip((phase - inhale_share) / (1.0 - inhale_share), 0.0, 1.0))
    return np.where(phase < inhale_share, inhale, exhale)


def one_run() -> float:
    synth = BreathSynth(RATE_HZ)
    clock = BlockClock(RATE_HZ)
    blocks = int(SECONDS * RATE_HZ / BLOCK)
    t0 = time.perf_counter()
    for k in range(blocks):
        t = clock.block_times(k * BLOCK / RATE_HZ, BLOCK)
        synth.render(fullness_at(t))
    return time.perf_counter() - t0


def main() -> None:
    runs = [one_run() for _ in range(5)]
    cost = statistics.median(runs) / SECONDS
    print(f"breathing tone, {RATE_HZ:.0f} Hz in {BLOCK}-sample blocks: {statistics.median(runs) * 1000:.0f} ms "
          f"per {SECONDS:.0f} s of sound = {cost * 100:.2f}% of one core "
          f"(target < {TARGET * 100:.0f}%): {'PASS' if cost < TARGET else 'FAIL'}")
    print(f"per block: {statistics.median(runs) / int(SECONDS * RATE_HZ / BLOCK) * 1e6:.0f} us "
          f"of a {BLOCK / RATE_HZ * 1000:.1f} ms block")


if __name__ == "__main__":
    main()
