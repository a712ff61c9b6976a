"""Benchmark: the history commands on a year of daily practice.

One command, from the repository root::

    python benchmarks/history.py

It builds, in a temporary folder, a session store of 365 daily 20-minute paced sessions
(about 1,300 beats each, 475,000 in all, written with ``add_recording``) whose beats are
generated here, not by the tests or the coach: a heart rate that swings with each breath
(largest near the person's resonance pace, 5.5 breaths/min), a pace stepping down from
6.5 to the resonance pace, beat-to-beat noise, a resting heart rate that falls by 4
beats/min over the year, a few missed beats (artefacts) and now and then a gap; the pace
and phase shown with every beat, the coach's pace changes as events, ratings on most days.

Then it times, medians over repeats:

(1) ``biofeedback sessions`` in-process (store opened, every row read, the table printed),
    and the whole command in a fresh interpreter; target under 0.5 s (issue 10).
(2) The trend plot: every session's figures computed from its stored beats, the trends,
    the figure drawn and written as PNG (``trends -o FILE.png``, in-process); target
    under 5 s (issue 10).

It prints each figure with PASS or FAIL.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from biofeedback.beats import BeatFlags, Gap  # noqa: E402
from biofeedback.recording import Recording, RecordingMeta  # noqa: E402
from biofeedback.store import Event, SessionStore  # noqa: E402

T0 = dt.datetime(2025, 12, 1, 6, 45, tzinfo=dt.UTC)
DAYS = 365
MINUTES = 20.0
RESONANCE_BPM = 5.5
SESSIONS_TARGET_S = 0.5
TRENDS_TARGET_S = 5.0
REPEATS = 3


def _session(day: int, rng: np.random.Generator) -> tuple[Recording, np.ndarray, np.ndarray, list[Event], dict]:
    """One generated session: its recording, pace and phase per beat, coach events and summary."""
    base = 72.0 - 4.0 * day / DAYS + rng.normal(0, 1.2)
    paces = (6.5, 6.0, 5.5) if day % 3 else (6.5, 6.0, 5.5, 5.0, 5.5)
    total_s = MINUTES * 60.0
    step_s = total_s / len(paces)
    # breath onsets: each breath at the pace of the step it starts in
    onsets, pace_of = [0.0], []
    while onsets[-1] < total_s + 30:
        p = paces[min(int(onsets[-1] // step_s), len(paces) - 1)]
        pace_of.append(p)
        onsets.append(onsets[-1] + 60.0 / p)
    on = np.array(onsets)
    bp = np.array(pace_of)
    # beats: integrate the RR chain against a continuous heart rate
    n_max = int(total_s * 2)
    t = np.empty(n_max)
    rr = np.empty(n_max)
    now, k = 0.0, 0
    amp = 4.0 + 6.0 * np.exp(-((bp - RESONANCE_BPM) ** 2) / 0.8)  # half the swing, beats/min
    noise = rng.normal(0, 0.5, n_max)
    while now < total_s and k < n_max:
        i = int(np.searchsorted(on, now, side="right") - 1)
        phase = (now - on[i]) / (on[i + 1] - on[i])
        hr = base - 5.0 * now / total_s + amp[i] * math.sin(2 * math.pi * phase) + noise[k]
        r = 60000.0 / hr
        now += r / 1000.0
        t[k], rr[k] = now, r
        k += 1
    t, rr = t[:k], rr[:k]
    i = np.searchsorted(on, t, side="right") - 1
    pace = bp[i]
    phase = (t - on[i]) / (on[i + 1] - on[i])
    flags = np.zeros(k, dtype=np.int64)
    for j in rng.choice(np.arange(50, k - 50), size=int(rng.integers(0, 4)), replace=False):
        rr[j + 1] += rr[j]  # a missed beat: two intervals read as one
        rr[j] = np.nan
    keep = np.isfinite(rr)
    t, rr, pace, phase, flags = t[keep], rr[keep], pace[keep], phase[keep], flags[keep]
    gaps: tuple[Gap, ...] = ()
    if day % 17 == 0:  # now and then the link drops for 15 s
        g = int(t.size * 0.6)
        t[g:] += 15.0
        flags[g] = int(BeatFlags.AFTER_GAP)
        gaps = (Gap(start_s=float(t[g - 1]), end_s=float(t[g] - rr[g] / 1000.0), reason="link lost"),)
        pace[g:], phase[g:] = np.nan, np.nan  # the prompt paused
    meta = RecordingMeta(start_utc=T0 + dt.timedelta(days=day, minutes=float(rng.integers(0, 90))),
                         utc_offset_s=3600, source="sim:1")
    rec = Recording(meta=meta, t_s=t, rr_ms=rr, flags=flags, gaps=gaps)
    events = [Event(t_s=float(s * step_s), kind="coach", detail=f"pace {p}", stage="search",
                    data={"pace_bpm": p, "code": "step"}) for s, p in enumerate(paces)]
    hr0 = 60000.0 / float(np.mean(rr[t < 120]))
    hr1 = 60000.0 / float(np.mean(rr[t > t[-1] - 120]))
    summary = {"baseline_hr_bpm": hr0, "final_hr_bpm": hr1, "resonance_bpm": RESONANCE_BPM,
               "quality": 1.0 - 3 / t.size}
    return rec, pace, phase, events, summary


def build(path: Path) -> int:
    rng = np.random.default_rng(2026)
    n_beats = 0
    with SessionStore(path) as store, store.batch():
        for day in range(DAYS):
            rec, pace, phase, events, summary = _session(day, rng)
            sid = store.add_recording(rec, summary=summary, pace_bpm=pace, phase=phase, events=events)
            if day % 5:
                store.set_ratings(sid, pain_before=int(rng.integers(4, 8)), pain_after=int(rng.integers(1, 5)),
                                  tension_before=int(rng.integers(4, 9)), tension_after=int(rng.integers(1, 6)))
            n_beats += rec.n_beats
    return n_beats


def main() -> int:
    from biofeedback.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        n_beats = build(folder / "sessions.db")
        print(f"store: {DAYS} sessions, {n_beats:,} beats, built in {time.perf_counter() - t0:.1f} s "
              f"({(folder / 'sessions.db').stat().st_size / 1e6:.0f} MB)")
        os.environ["XDG_CONFIG_HOME"] = str(folder / "config")  # the first-run notice, out of the way
        sink = io.StringIO()
        sessions_s = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            from contextlib import redirect_stdout

            with redirect_stdout(sink):
                assert cli(["sessions", "--data-dir", str(folder)]) == 0
            sessions_s.append(time.perf_counter() - t0)
        fresh_s = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "biofeedback", "sessions", "--data-dir", str(folder)],
                           check=True, capture_output=True, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
            fresh_s.append(time.perf_counter() - t0)
        rows = sum(1 for line in sink.getvalue().splitlines() if line[:4].strip().isdigit()) // REPEATS
        trends_s = []
        for r in range(REPEATS):
            out = folder / f"trends-{r}.png"
            t0 = time.perf_counter()
            with redirect_stdout(sink):
                assert cli(["trends", "-o", str(out), "--data-dir", str(folder)]) == 0
            trends_s.append(time.perf_counter() - t0)
        headline = [line for line in sink.getvalue().splitlines() if line.startswith("Over the last")][:1]
    s_in, s_fresh, s_tr = (statistics.median(x) for x in (sessions_s, fresh_s, trends_s))
    ok1 = s_fresh < SESSIONS_TARGET_S
    ok2 = s_tr < TRENDS_TARGET_S
    print(f"(1) sessions, {rows} rows: {s_in:.3f} s in-process, {s_fresh:.3f} s as a fresh command "
          f"(target < {SESSIONS_TARGET_S} s): {'PASS' if ok1 else 'FAIL'}")
    print(f"(2) trends -o FILE.png over {DAYS} sessions: {s_tr:.2f} s "
          f"(target < {TRENDS_TARGET_S} s): {'PASS' if ok2 else 'FAIL'}")
    if headline:
        print(f"    headline: {headline[0]}")
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
