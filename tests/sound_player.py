"""Play a breathing schedule through SoundPrompt on the default device, as its own process.

Usage: ``python sound_player.py CONFIG.json RESULT.json``. CONFIG holds ``schedule``
(``[[pace_bpm, n_breaths], ...]``), ``start_s`` (beat-clock time of the first onset) and
``end_s`` (beat-clock time to stop), optionally ``clock_skew_s`` (added to the prompt's clock). The beat clock is the system's monotonic clock minus
``origin_monotonic_s`` (in RESULT), zero just before the stream starts. RESULT records when the stream started on that clock, what
PortAudio reported, and for every block the beat-clock time it was rendered for.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sound_helpers import Breathing

from biofeedback.display.sound import SoundPrompt


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    breathing = Breathing(tuple((float(p), int(n)) for p, n in config["schedule"]), start_s=config["start_s"])
    origin = time.monotonic()

    skew_s = float(config.get("clock_skew_s", 0.0))  # a wrong clock, to see that the test notices

    def now_s() -> float:
        return time.monotonic() - origin + skew_s

    blocks: list[tuple[float, int, float]] = []

    def fullness_at(t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        blocks.append((float(t_s[0]), int(t_s.size), now_s()))
        return breathing.fullness_at(t_s)

    prompt = SoundPrompt(fullness_at, now_s)
    before_s = now_s()
    prompt.start()
    after_s = now_s()
    while now_s() - skew_s < config["end_s"]:
        time.sleep(0.05)
    prompt.close()
    result = {
        "sample_rate_hz": prompt.sample_rate_hz, "origin_monotonic_s": origin,
        "start_before_s": before_s, "start_after_s": after_s,
        "latency_s": prompt.latency_s, "lead_s": prompt.lead_s,
        "blocks": blocks, "underruns": prompt.underruns, "first_block_beat_s": prompt.first_block_beat_s,
    }
    Path(sys.argv[2]).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
