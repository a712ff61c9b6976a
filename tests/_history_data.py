"""Stores of made-up sessions for the history tests: beats with the pace and phase shown,
coach decisions, ratings; built with SessionStore alone (no coach, no simulated person)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biofeedback.beats import Beat, BeatFlags, Gap
from biofeedback.recording import Recording, RecordingMeta
from biofeedback.store import SessionStore


@dataclass(frozen=True)
class Paced:
    """What a made-up paced session was built from."""

    t_s: np.ndarray
    rr_ms: np.ndarray
    pace_bpm: np.ndarray
    phase: np.ndarray
    changes: list[tuple[float, float]]  # (t_s, pace_bpm) of each pace change


def paced_beats(seed: int, minutes: float = 10.0, base_hr: float = 70.0, drop: float = 5.0,
                paces: tuple[float, ...] = (6.5, 6.0, 5.5), swing: float = 8.0) -> Paced:
    """Beats of a session paced at ``paces`` (equal shares of the time), heart rate swinging with the breath."""
    rng = np.random.default_rng(seed)
    total_s = minutes * 60.0
    t, onset, k = 0.0, 0.0, 0
    ts, rrs, pcs, phs = [], [], [], []
    changes = [(0.0, paces[0])]
    pace = paces[0]
    while t < total_s:
        period = 60.0 / pace
        phase = (t - onset) / period
        if phase >= 1.0:  # the next breath, perhaps at the next pace
            onset += period
            want = paces[min(int(onset / total_s * len(paces)), len(paces) - 1)]
            if want != pace:
                pace = want
                changes.append((t, pace))
            continue
        hr = base_hr - drop * t / total_s + swing / 2 * math.sin(2 * math.pi * phase) + rng.normal(0, 0.4)
        rr = 60000.0 / hr
        t += rr / 1000.0
        k += 1
        ts.append(t)
        rrs.append(rr)
        pcs.append(pace)
        phs.append(((t - onset) / period) % 1.0)
    return Paced(np.array(ts), np.array(rrs), np.array(pcs), np.array(phs), changes)


def add_paced(store: SessionStore, start: dt.datetime, p: Paced, *, summary: dict | None = None,
              offset_s: int = 3600) -> int:
    """Store a paced session beat by beat, as train does, with its coach decisions."""
    sid = store.start_session(RecordingMeta(start_utc=start, utc_offset_s=offset_s, source="sim:1"), {"minutes": 10})
    changes = list(p.changes)
    for t, rr, pace, phase in zip(p.t_s, p.rr_ms, p.pace_bpm, p.phase, strict=True):
        while changes and changes[0][0] <= t:
            ct, cp = changes.pop(0)
            store.add_event(sid, ct, "coach", f"pace {cp}", stage="search", data={"pace_bpm": cp, "code": "step"})
        store.add_beat(sid, Beat(t_s=float(t), rr_ms=float(rr)), pace_bpm=float(pace), phase=float(phase))
    store.finish_session(sid, summary or {})
    return sid


def add_unpaced(store: SessionStore, start: dt.datetime, seed: int, minutes: float = 6.0,
                gap_at_s: float | None = None) -> tuple[int, Recording]:
    """Store a session with no pace (an import), optionally with one gap."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60)
    t = np.arange(n, dtype=np.float64)
    rr = 900.0 + 60.0 * np.sin(2 * np.pi * t / 10.0) + rng.normal(0, 5, n)
    times = np.cumsum(rr) / 1000.0
    flags = np.zeros(n, dtype=np.int64)
    gaps: tuple[Gap, ...] = ()
    if gap_at_s is not None:
        i = int(np.searchsorted(times, gap_at_s))
        times[i:] += 20.0
        flags[i] = int(BeatFlags.AFTER_GAP)
        gaps = (Gap(start_s=float(times[i - 1]), end_s=float(times[i] - rr[i] / 1000.0), reason="link lost"),)
    meta = RecordingMeta(start_utc=start, utc_offset_s=0, source="file:x.txt")
    rec = Recording(meta=meta, t_s=times, rr_ms=rr, flags=flags, gaps=gaps)
    return store.add_recording(rec), rec


def open_store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions.db")
