"""Make the simulated practice sessions of this folder: four weeks of one simulated person.

SIMULATED DATA. No person breathed these sessions: a model of one
(:class:`biofeedback.physiology.Person`) followed the breathing prompt
(:class:`biofeedback.pacer.Pacer`) that a controller steered beat by beat
(:class:`biofeedback.guide.BreathGuide`), as in ``biofeedback train``. Each session is
stored in a scratch session store as the training session stores it (beats with the pace
and phase shown, the controller's decisions as coach events, the end summary of
:func:`biofeedback.outcome.session_outcome`, ratings before and after) and exported as
the interchange CSV (:func:`biofeedback.interchange.export_csv`).

What changes over the weeks, as reported for HRV-biofeedback practice (Lehrer & Gevirtz
2014; Lehrer et al. 2003): the resting heart rate drifts down (about 3.5 beats/min over
four weeks here, with day-to-day scatter of 1.2 beats/min), the heart-rate swing at the
resonance pace grows (11 to 15 beats/min peak to trough), the resonance pace itself stays
put (5.5 breaths/min), and the tension rated before a session falls, with the rating
after a session lower than before.

Which controller steers: the coach (:class:`biofeedback.coach.Coach`, preset
``resonance``; see START_FROM_RECENT for where it starts) when this copy of biofeedback has one, else Lehrer's stepped protocol in the
assessment sessions (the first two and one a week after) and a fixed pace at the resonance
found so far in the others, as a person without the coach would practise. Regenerate the
files when the coach changes::

    python sample_data/simulated/make_simulated.py            # writes sample_data/simulated/*.csv

References
----------
Lehrer, P. M., & Gevirtz, R. (2014). Heart rate variability biofeedback: how and why does
it work? Frontiers in Psychology 5, 756.
Lehrer, P. M., Vaschillo, E., Vaschillo, B., et al. (2003). Heart rate variability
biofeedback increases baroreflex gain and peak expiratory flow. Psychosomatic Medicine
65(5), 796-805.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

import biofeedback
from biofeedback.beats import Beat, BeatFlags, Gap
from biofeedback.guide import BreathGuide
from biofeedback.interchange import export_csv
from biofeedback.outcome import session_outcome
from biofeedback.pacer import DEFAULT_MAX_STEP_BPM, BreathPattern, Pacer, parse_preset
from biofeedback.physiology import Person, PersonParams
from biofeedback.protocols import FixedPace, SteppedProtocol
from biofeedback.recording import LinkEvent, RecordingMeta
from biofeedback.store import SessionStore

HERE = Path(__file__).resolve().parent
FIRST_DAY = dt.date(2026, 11, 2)  # a Monday
DAYS = 28
N_SESSIONS = 21
UTC_OFFSET_S = 3600  # Central European Time
SEED = 20261102
RESONANCE_BPM = 5.5  # the person's own (the model's truth): stable over the weeks
HR_START_BPM, HR_END_BPM, HR_SCATTER_BPM = 68.0, 64.5, 1.2  # resting heart rate over the four weeks
SWING_START_BPM, SWING_END_BPM = 11.0, 15.0  # peak-to-trough swing at resonance
ASSESSMENTS = (0, 1, 7, 13, 19)  # sessions with the stepped protocol (when there is no coach)
# 'biofeedback train' starts the coach at the median resonance of the last sessions. The coach of
# 2026-12-02 (coach branch 6e8bd71), started so at 4.9 breaths/min, held that pace for the whole
# session and found no resonance, session after session; until that is mended every session here
# starts as a first one does, from the person's own breathing.
START_FROM_RECENT = False
GAP_IN = {5: (300.0, 8.0), 16: (520.0, 11.5)}  # session -> (start of a link loss, its length), s


def _coach() -> type | None:
    try:
        from biofeedback.coach import Coach
    except ImportError:
        return None
    return Coach


def _schedule(rng: np.random.Generator) -> list[dt.datetime]:
    """N_SESSIONS local start times over DAYS days: mostly mornings, a few evenings."""
    days = np.sort(rng.choice(DAYS, size=N_SESSIONS, replace=False))
    days[0] = 0  # the first day is the first session
    tz = dt.timezone(dt.timedelta(seconds=UTC_OFFSET_S))
    out = []
    for d in days.tolist():
        evening = rng.random() < 0.25
        hour, minute = (21, int(rng.integers(0, 50))) if evening else (7, int(rng.integers(0, 55)))
        day = FIRST_DAY + dt.timedelta(days=d)
        out.append(dt.datetime(day.year, day.month, day.day, hour, minute, int(rng.integers(0, 60)), tzinfo=tz))
    return out


def _rating(x: float) -> int:
    return int(min(10, max(0, round(x))))


def make_session(store: SessionStore, i: int, start_local: dt.datetime, rng: np.random.Generator,
                 found_bpm: list[float]) -> int:
    """Simulate session ``i`` (0-based) into ``store``; returns its id."""
    progress = i / (N_SESSIONS - 1)
    params = PersonParams(
        resonance_bpm=RESONANCE_BPM,
        baseline_hr_bpm=float(HR_START_BPM + (HR_END_BPM - HR_START_BPM) * progress + rng.normal(0, HR_SCATTER_BPM)),
        peak_swing_bpm=float(SWING_START_BPM + (SWING_END_BPM - SWING_START_BPM) * progress + rng.normal(0, 0.6)),
        max_drop_pct=float(rng.uniform(2.5, 5.0)),
        artefact_rate=0.002,
    )
    seed = SEED + i
    person = Person(params, seed)
    minutes = float(rng.choice([10.0, 12.0, 12.0, 15.0]))
    coach = _coach()
    controller: Any
    pattern = BreathPattern(pace_bpm=6.0)
    max_step_bpm = DEFAULT_MAX_STEP_BPM
    extra: dict[str, Any] = {}
    if coach is not None:  # as 'biofeedback train' (preset resonance) builds it
        chosen = parse_preset("resonance")
        options = dict(chosen.coach_options)
        recent = store.recent_resonance_bpm() if START_FROM_RECENT else None
        start = None if options.get("start_from_own_rate") else recent
        pattern = chosen.pattern if start is None else chosen.pattern.at_pace(start)
        max_step_bpm = float(options.get("max_step_bpm", DEFAULT_MAX_STEP_BPM))
        controller = coach(**options, **({} if start is None else {"start_pace_bpm": start}))
        preset = chosen.name
        extra = {"adaptive": True, "start_pace_bpm": start}
    elif i in ASSESSMENTS or not found_bpm:
        controller = SteppedProtocol()
        preset = "stepped"
        minutes = max(minutes, 12.0)  # five paces of two minutes, then the best one held
    else:
        pace = float(statistics.median(found_bpm[-3:]))
        controller = FixedPace(pace)
        preset = f"fixed:{pace:g}"
    if preset == "stepped":
        pattern = BreathPattern(pace_bpm=6.5)
    pacer = Pacer(pattern, max_step_bpm=max_step_bpm)
    guide = BreathGuide(controller, pacer)
    meta = RecordingMeta(start_utc=start_local.astimezone(dt.UTC), utc_offset_s=UTC_OFFSET_S, source=f"sim:{seed}",
                         device_name="simulated person", software_version=biofeedback.__version__)
    settings = {
        "minutes": minutes, "preset": preset, **extra, "simulated": True,
        "simulated_person": {"resonance_bpm": params.resonance_bpm, "baseline_hr_bpm": round(params.baseline_hr_bpm, 2),
                             "peak_swing_bpm": round(params.peak_swing_bpm, 2), "seed": seed},
    }
    sid = store.start_session(meta, settings)
    gap = GAP_IN.get(i)
    t_s, last_t, in_gap = 0.0, None, False
    beats: list[Beat] = []
    gaps: list[Gap] = []
    recent: list[float] = []
    while t_s < minutes * 60.0:
        sim = person.next_beat(pacer.at)
        rr = round(sim.rr_ms * 1.024) / 1.024  # a strap's 1/1024 s steps
        t_s += rr / 1000.0
        if gap is not None and gap[0] <= t_s < gap[0] + gap[1]:
            if not in_gap:
                in_gap = True
                store.add_link_event(sid, LinkEvent(last_t or 0.0, "lost", "link lost"))
                guide.on_gap(t_s)
            continue
        flags = BeatFlags.NONE
        if in_gap:
            in_gap = False
            g = Gap(start_s=last_t or 0.0, end_s=t_s - rr / 1000.0, reason="link lost")
            store.add_link_event(sid, LinkEvent(g.end_s, "restored", "after 1 attempt(s)"))
            store.add_gap(sid, g)
            gaps.append(g)
            flags = BeatFlags.AFTER_GAP
            recent.clear()
        shown = guide.on_beat(t_s, rr)
        recent = [*recent[-2:], rr]
        store.add_beat(sid, Beat(t_s, rr, flags), hr_bpm=float(round(60000.0 / float(np.mean(recent)))),
                       pace_bpm=shown.pace_bpm, phase=round(shown.phase, 4))
        beats.append(Beat(t_s, rr, flags))
        last_t = t_s
    for d in controller.decisions:
        store.add_event(sid, d.t_s, "coach", d.reason, stage=d.stage, data={"pace_bpm": d.pace_bpm, "code": d.code})
    rec = store.recording(sid)
    outcome = session_outcome(rec, pacer.onsets_s, baseline_hr_bpm=controller.baseline_hr_bpm,
                              resonance_bpm=controller.resonance_bpm, n_decisions=len(controller.decisions))
    if controller.resonance_bpm is not None:
        found_bpm.append(float(controller.resonance_bpm))
    store.finish_session(sid, outcome.summary())
    tension = 6.5 - 2.5 * progress + rng.normal(0, 0.8)
    pain = 3.5 - 1.0 * progress + rng.normal(0, 0.6)
    if rng.random() < 0.85:  # now and then a rating is skipped
        store.set_ratings(sid, tension_before=_rating(tension), pain_before=_rating(pain),
                          tension_after=_rating(tension - rng.uniform(1.0, 3.0)),
                          pain_after=_rating(pain - rng.uniform(0.0, 1.5)))
    return sid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write the CSVs into (default: this one)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(SEED)
    starts = _schedule(rng)
    found: list[float] = []
    for old in args.out.glob("sim-*.csv"):
        old.unlink()
    with tempfile.TemporaryDirectory() as scratch, SessionStore(Path(scratch) / "sessions.db") as store:
        with store.batch():
            for i, start in enumerate(starts):
                sid = make_session(store, i, start, rng, found)
                row = store.session(sid)
                name = args.out / f"sim-{start:%Y-%m-%d-%H%M}.csv"
                name.write_text(export_csv(store, sid), encoding="utf-8")
                s = row.summary or {}
                print(f"{name.name}: {row.n_beats} beats, {row.minutes:.1f} min, {row.settings['preset']}, "
                      f"HR {s.get('baseline_hr_bpm') or float('nan'):.1f} -> {s.get('final_hr_bpm') or float('nan'):.1f}, "
                      f"resonance {s.get('resonance_bpm')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
