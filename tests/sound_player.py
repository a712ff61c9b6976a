"""Play a breathing schedule through SoundPrompt on the default device, as its own process.

Usage: ``python sound_player.py CONFIG.json RESULT.json``. CONFIG holds ``schedule``
(``[[pace_bpm, n_breaths], ...]``), ``start_after_s`` (the first breath starts this long after
the stream runs steadily), ``end_after_s`` (stop this long after the last breath) and
optionally ``clock_skew_s`` (added to the prompt's clock: a wrong clock, to see that the test
notices). The beat clock is the system's monotonic clock minus ``origin_monotonic_s``. RESULT
records that origin, the first onset ``start_s``, what PortAudio reported, and for every block
the beat-clock time it was rendered for (on the prompt's clock).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sound_helpers import PacedSchedule

from biofeedback.display.sound import SoundPrompt


def running_steadily(blocks: list[tuple[float, int, float]], now_s: float) -> bool:
    """Callbacks all through the last second: an audio server may take a while to start its
    first stream (PulseAudio here: about 1.7 s after a first few blocks)."""
    calls = [called_s for _, _, called_s in blocks if called_s > now_s - 1.0]
    return len(calls) > 10 and calls[0] < now_s - 0.9 and calls[-1] > now_s - 0.1


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    schedule = tuple((float(p), int(n)) for p, n in config["schedule"])
    origin = time.monotonic()
    breathing: list[PacedSchedule] = []  # set once the stream runs steadily

    skew_s = float(config.get("clock_skew_s", 0.0))

    def now_s() -> float:
        return time.monotonic() - origin + skew_s

    blocks: list[tuple[float, int, float]] = []

    def fullness_at(t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        blocks.append((float(t_s[0]), int(t_s.size), now_s()))
        return breathing[0].fullness_at(t_s) if breathing else np.zeros(t_s.size)

    prompt = SoundPrompt(fullness_at, now_s)
    before_s = now_s()
    prompt.start()
    after_s = now_s()
    while not running_steadily(blocks, now_s()):
        time.sleep(0.01)
    start_s = now_s() - skew_s + config["start_after_s"]
    breathing.append(PacedSchedule(schedule, start_s=start_s))
    end_s = breathing[0].end_s + config["end_after_s"]
    while now_s() - skew_s < end_s:
        time.sleep(0.05)
    prompt.close()
    result = {
        "sample_rate_hz": prompt.sample_rate_hz, "origin_monotonic_s": origin, "start_s": start_s,
        "start_before_s": before_s, "start_after_s": after_s,
        "latency_s": prompt.latency_s, "lead_s": prompt.lead_s,
        "blocks": blocks, "underruns": prompt.underruns, "first_block_beat_s": prompt.first_block_beat_s,
    }
    Path(sys.argv[2]).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
