"""What one frame of each breathing prompt costs: ``python benchmarks/prompt_frames.py``.

Plays one minute of session at 20 frames a second (six breaths at 6 breaths/min, a beat
every second) through each display and times ``show(frame)``:

- the terminal prompt, drawing into an 80×24 terminal whose output goes to /dev/null (the
  cost of building and writing the screen, not of a terminal emulator painting it);
- the window prompt on a private Xvfb display, where Xvfb is installed.

Prints the median and mean cost per frame and the share of one core at 20 frames a second;
targets: under 2 ms a frame on average for the terminal and 5 ms for the window.
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from biofeedback.display.calm import CalmLines
from biofeedback.display.prompt import PromptFrame

FPS = 20.0
SECONDS = 60.0
PACE_BPM = 6.0
INHALE_SHARE = 0.4


def frames() -> list[PromptFrame]:
    """One minute of frames: a cosine breath, heart rate following it, a beat every second."""
    calm = CalmLines()
    period_s = 60.0 / PACE_BPM
    out = []
    for i in range(int(SECONDS * FPS)):
        t_s = 120.0 + i / FPS
        phase = (t_s % period_s) / period_s
        inhale = phase < INHALE_SHARE
        fullness = (0.5 - 0.5 * math.cos(math.pi * phase / INHALE_SHARE) if inhale
                    else 0.5 + 0.5 * math.cos(math.pi * (phase - INHALE_SHARE) / (1 - INHALE_SHARE)))
        left_s = ((INHALE_SHARE if inhale else 1.0) - phase) * period_s
        beat_t = np.arange(0.0, math.floor(t_s) + 1.0)
        onsets = np.arange(0.0, t_s, period_s)
        out.append(PromptFrame(
            fullness=min(1.0, max(0.0, fullness)), part="inhale" if inhale else "exhale", part_left_s=left_s,
            pace_bpm=PACE_BPM, heart_rate_bpm=65.0 + 5.0 * math.sin(2 * math.pi * math.floor(t_s) / period_s),
            swing_bpm=11.8, swing_trend_bpm=0.8, swing_target_bpm=15.0, stage="exploring",
            reason="slower: the swing grew", elapsed_s=t_s, remaining_s=600.0 - t_s, battery_percent=87,
            corrected_share=0.004, calm_line=calm.line_for(int(t_s // period_s)),
            hr_t_s=beat_t[-60:], hr_bpm=65.0 + 5.0 * np.sin(2 * np.pi * beat_t[-60:] / period_s),
            breath_onsets_s=onsets[-7:], inhale_ends_s=onsets[-7:] + INHALE_SHARE * period_s,
            swings_t_s=onsets[-6:], swings_bpm=np.linspace(10.0, 12.0, onsets[-6:].size), t_s=t_s))
    return out


def timed(show: Callable[[PromptFrame], None], fs: list[PromptFrame]) -> list[float]:
    costs = []
    for f in fs:
        t0 = time.perf_counter()
        show(f)
        costs.append(time.perf_counter() - t0)
    return costs


def report(name: str, costs: list[float], target_ms: float) -> bool:
    mean_ms = 1e3 * statistics.fmean(costs)
    ok = mean_ms < target_ms
    print(f"{name:<16} median {1e6 * statistics.median(costs):7.0f} µs   mean {1e3 * mean_ms:7.0f} µs   "
          f"p99 {1e6 * float(np.percentile(costs, 99)):7.0f} µs   {100 * mean_ms * FPS / 1e3:4.1f}% of a core "
          f"at {FPS:.0f} frames/s   {'PASS' if ok else 'FAIL'} (mean < {target_ms} ms)")
    return ok


@contextmanager
def xvfb() -> Iterator[str]:
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    from rich.console import Console

    from biofeedback.display.terminal import TerminalPrompt

    fs = frames()
    ok = True
    with open(os.devnull, "w", encoding="utf-8") as null:
        console = Console(file=null, force_terminal=True, width=80, height=24, color_system="256")
        with TerminalPrompt(console) as prompt:
            costs = timed(prompt.show, fs)
        print(f"terminal: {prompt.frames_drawn} of {len(fs)} frames drawn (the others looked the same)")
        ok &= report("terminal prompt", costs, 2.0)
    if shutil.which("Xvfb") is None:
        print("window prompt: skipped (no Xvfb; apt-get install xvfb)")
        return 0 if ok else 1
    from biofeedback.display.window import WindowPrompt

    with xvfb() as display, WindowPrompt(screen=display) as window:
        window.show(fs[0])
        costs = timed(window.show, fs[1:])
        print(f"window: {window.full_redraws} full redraw(s) in {window.frames_shown} frames")
        ok &= report("window prompt", costs, 5.0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
