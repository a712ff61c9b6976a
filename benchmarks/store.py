"""Benchmark: the session store's write and read speed.

One command, from the repository root::

    python benchmarks/store.py

(1) A 60-minute session written the way the live loop writes it, one committed call per
    item: 4,000 beats, 3,600 strap frames (one a second), 120 coach events and 12 battery
    events, then ``finish_session``. The target it serves: a 60-minute session replayed with
    ``--speed max --ui none`` in under 2 s in total, of which the store may take a part.
(2) Reading it back: ``recording(id)``, ``beat_table(id)``, ``frames(id)``.
(3) ``sessions()`` on a store of a year of daily 20-minute sessions (365 x 1,300 beats,
    written with ``add_recording``); issue 10's target is under 0.5 s for the command.

Medians over repeats, each in a fresh temporary folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from biofeedback.beats import Beat
from biofeedback.recording import Recording, RecordingMeta
from biofeedback.store import SessionStore

T0 = dt.datetime(2026, 1, 5, 7, 30, tzinfo=dt.UTC)
N_BEATS = 4000
REPEATS = 5


def write_hour(path: Path, *, batched: bool = False) -> tuple[float, int]:
    """Write one 60-minute session item by item; returns (seconds, rows written).

    ``batched``: inside ``store.batch()`` (commits at most 1 s apart), as a source faster
    than real time may."""
    rng = np.random.default_rng(1)
    rr = 900.0 + 60.0 * np.sin(np.arange(N_BEATS) / 1.6) + rng.normal(0, 15, N_BEATS)
    t = np.cumsum(rr) / 1000.0
    frame = bytes([0x10, 66, 0x9A, 0x03])
    rows = 0
    start = time.perf_counter()
    with SessionStore(path) as store, store.batch() if batched else contextlib.nullcontext():
        sid = store.start_session(RecordingMeta(start_utc=T0, source="sim:1"), {"minutes": 60})
        next_frame_s, next_coach_s, next_battery_s = 0.0, 30.0, 300.0
        for i in range(N_BEATS):
            ti = float(t[i])
            while next_frame_s <= ti and next_frame_s < 3600.0:
                store.add_frame(sid, 100.0 + next_frame_s, frame)
                next_frame_s += 1.0
                rows += 1
            store.add_beat(sid, Beat(t_s=ti, rr_ms=float(rr[i])), hr_bpm=66, pace_bpm=6.0, phase=(ti % 10) / 10)
            rows += 1
            if ti >= next_coach_s:
                store.add_event(sid, ti, "coach", "hold", stage="settle", data={"pace_bpm": 6.0})
                next_coach_s += 30.0
                rows += 1
            if ti >= next_battery_s:
                store.add_event(sid, ti, "battery", "87%", data={"level_pct": 87})
                next_battery_s += 300.0
                rows += 1
        store.finish_session(sid, {"resonance_bpm": 6.0})
    return time.perf_counter() - start, rows


def read_hour(path: Path) -> float:
    start = time.perf_counter()
    with SessionStore(path) as store:
        (s,) = store.sessions()
        store.recording(s.id)
        store.beat_table(s.id)
        store.frames(s.id)
    return time.perf_counter() - start


def list_year(folder: Path) -> tuple[float, float]:
    path = folder / "year.db"
    rng = np.random.default_rng(2)
    start = time.perf_counter()
    with SessionStore(path) as store:
        for day in range(365):
            rr = rng.normal(900.0, 40.0, 1300)
            rec = Recording.from_rr(rr, RecordingMeta(start_utc=T0 + dt.timedelta(days=day), source="sim:2"))
            store.add_recording(rec, summary={"resonance_bpm": 5.5, "baseline_hr_bpm": 70.0, "final_hr_bpm": 65.0})
    fill_s = time.perf_counter() - start
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        with SessionStore(path) as store:
            assert len(store.sessions()) == 365
        times.append(time.perf_counter() - start)
    return fill_s, statistics.median(times)


def main() -> None:
    writes, batched, reads, rows = [], [], [], 0
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "store" / "sessions.db"
            w, rows = write_hour(path)
            writes.append(w)
            reads.append(read_hour(path))
        with tempfile.TemporaryDirectory() as tmp:
            batched.append(write_hour(Path(tmp) / "sessions.db", batched=True)[0])
    w = statistics.median(writes)
    print(
        f"write a 60-minute session, one commit per item: {w:.3f} s for {rows} rows "
        f"({N_BEATS} beats; {1e6 * w / rows:.1f} us per committed row)"
    )
    print(f"the same inside store.batch() (commits at most 1 s apart): {statistics.median(batched):.3f} s")
    print(f"read it back (recording, beat_table, frames): {statistics.median(reads) * 1000:.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        fill_s, list_s = list_year(Path(tmp))
    print(
        f"a year of daily 20-minute sessions (365 x 1,300 beats): written in {fill_s:.2f} s; "
        f"sessions() lists them in {list_s * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
