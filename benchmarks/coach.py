"""Benchmark: the adaptive coach against a fixed 6 breaths/min pacer and Lehrer's stepped
protocol, in closed loop with simulated people (``biofeedback.evaluation``).

One command, from the repository root::

    python benchmarks/coach.py                  # default and poor_follower, 3 x 40 people (about 4 min on 2 cores)
    python benchmarks/coach.py --all            # every variant (about 35 min on 2 cores): benchmarks/coach_results.json
    python benchmarks/coach.py --variants default,noisy --people 20 --seed 5
    python benchmarks/coach.py --noise-budget --seed 77   # each of the model's noise sources removed in turn
    python benchmarks/coach.py --tables benchmarks/coach_results.json   # the README's tables, from a results file

For each variant of the simulated person (``biofeedback.physiology.VARIANTS``: the model's
assumptions varied, loop delay, how well people follow, noise, ...) the same seeded people
(resonance spread over 4.5-7 breaths/min) do a 15-minute session with each controller: the
coach, ``FixedPace(6)`` and ``SteppedProtocol()``, and six references, each given something a
coach never has, which show what the information in the heartbeats supports (they are not
strict bounds: the coach beats some of them in some variants):

- ``ideal sampling 14``: breaths spread evenly over 4-7.5/min for 14 minutes (a zigzag
  in 0.25/min steps, 2 breaths a pace, the whole range swept again and again), then the
  coach's own estimator (``coach_evidence.fit_peak`` over every trusted breath) picks the
  pace for the last minute. The best data design for the coach's estimator.
- ``oracle family 14``: the same breaths, but the estimate is the model's own curve family
  (``physiology.swing_shape``: depth times the delayed baroreflex loop's gain) fitted to
  them, its five shape parameters (loop delay, loop gain, vascular time constant, vagal
  corner, depth exponent) and its height free, within bounds that hold every person of every
  variant: what an estimator that knows how the simulated heart works, but not this person,
  reads.
- ``oracle shape 14``: the same breaths, but the estimate is an oracle's: it knows the
  person's true swing curve up to its height and its position on the pace axis (the model's
  ``swing_bpm`` curve, shifted), and fits only those two to the measured swings (least
  squares on log swing). No estimator that has to learn the curve's shape can do better
  on average from these breaths.
- ``oracle shape 5``: the same oracle with the sweep stopped at minute 5, holding its
  estimate from then on: the bound for "settled within 0.5 by minute 6".
- ``oracle design 14`` and ``oracle design 5``: the shape oracle again, but its breaths are
  also placed where they tell most, around the person's *true* resonance (0, +0.5, +1,
  +0.5, 0, -0.5, -1, -0.5/min from it, 3 breaths each, as the coach's blocks), the sweep
  stopped at minute 14 or 5. An adaptive coach can at best hope to put its breaths there;
  these bound what any design reads from 14 or 5 minutes of these heartbeats.

Each reference reads the breaths exactly as the coach does (the same artefact correction,
the same lock-in swing, the same following check, nothing from the first minute). The
table gives the figures of the issue's targets for each, the coach's targets judged
PASS/FAIL, and the coach's heart-rate drop against the stepped protocol's person by person
(``evaluation.paired_drop``). Then the per-beat cost of the coach plus the pacer (the
BreathGuide step), median over every beat of a session.

The coach's settings were chosen on seed 1 of the ``default`` variant (its breath weights
also on seeds 77 and 78, checked on 2027-2029); the scores are on the people of seeds 2026,
2030 and 2031 pooled (``--seed``, 40 people each, ``--people``), in every variant, none of
which it was tuned on. The sessions run in ``--jobs`` processes (default: one per CPU); the
figures do not depend on how many.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from biofeedback.coach import Coach
from biofeedback.evaluation import PersonResult, Summary, paired_drop, run_session, summarise, target_rows
from biofeedback.guide import BreathGuide
from biofeedback.live_artifacts import LiveArtefactFilter
from biofeedback.pacer import BreathPattern, Pacer
from biofeedback.physiology import VARIANTS, Person, PersonParams, sample_people, swing_shape
from biofeedback.protocols import Controller, FixedPace, SteppedProtocol

TUNING_SEED = 1  # the seed set the coach's settings were chosen on (default variant)
SCORE_SEEDS = "2026,2030,2031"  # never used to choose a setting; 40 people each, pooled
QUICK_VARIANTS = "default,poor_follower"

AROUND_BPM = np.array([0.0, 0.5, 1.0, 0.5, 0.0, -0.5, -1.0, -0.5])  # the oracle design's offsets, /min
SWEEP_BPM = np.round(np.concatenate([np.arange(7.5, 3.99, -0.25), np.arange(4.25, 7.26, 0.25)]), 2)


# The family oracle's free shape parameters and their bounds. The loop gain is a raw gain in
# disguise: ``physiology`` scales it by the person's resonance, which the oracle does not know, so
# its curve scales it at a fixed 12/min instead. The bounds hold every person of every variant
# with room (a test): loop delay 1.9-5.9 s in a scan of the variants' corners, the gain so scaled
# 0.155-0.525, the vascular time constant 0.8-6 s (``long_delay`` to ``short_delay``), the vagal
# corner and the depth exponent as every variant draws them.
FAMILY_FIELDS = ("loop_gain", "vascular_tau_s", "vagal_corner_bpm", "depth_exponent")
FAMILY_NORM = {"resonance_bpm": 12.0}
FAMILY_LO = np.array([1.0, 0.1, 0.8, 5.7, 0.4])  # loop delay (s), then FAMILY_FIELDS
FAMILY_HI = np.array([9.0, 0.65, 6.0, 8.7, 0.6])
FAMILY_STARTS = [np.array([d, g, 2.5, 7.2, 0.5]) for d in (2.5, 4.0, 5.5, 7.0) for g in (0.25, 0.5)]
FAMILY_GRID_BPM = np.round(np.arange(4.0, 7.5001, 0.01), 2)


def _weighed_log(pace_bpm: np.ndarray, swing_bpm: np.ndarray, weight: np.ndarray,
                 least: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The breaths that carry weight: pace, log swing and weight (None with fewer than ``least``)."""
    keep = weight > 1e-3
    if np.count_nonzero(keep) < least:
        return None
    return pace_bpm[keep], np.log(np.maximum(swing_bpm[keep], 0.05)), weight[keep]


def about_height(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Residuals of log swing ``y`` about a prediction (on the last axis) whose height is free:
    about its weighted mean, the least-squares height. The shape and family oracles use it, and
    ``coach_lean.py``'s tilted resonator."""
    r = y - pred
    return r - ((r * w).sum(axis=-1) / w.sum())[..., None]


def _family_shape(pace_bpm: np.ndarray, theta: np.ndarray) -> np.ndarray:
    params = PersonParams(**FAMILY_NORM, **dict(zip(FAMILY_FIELDS, map(float, theta[1:]), strict=True)))
    return swing_shape(pace_bpm, params, float(theta[0]))


def family_peak(pace_bpm: np.ndarray, swing_bpm: np.ndarray, weight: np.ndarray) -> float | None:
    """The peak, 4-7.5/min, of the model's curve family fitted to the breaths (weighted least
    squares on log swing, the height profiled out, the best of :data:`FAMILY_STARTS`); None with
    fewer than 6 weighed breaths."""
    breaths = _weighed_log(pace_bpm, swing_bpm, weight, 6)
    if breaths is None:
        return None
    p, y, w = breaths
    sw = np.sqrt(w)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return sw * about_height(y, np.log(_family_shape(p, theta)), w)

    fits = [least_squares(residuals, x0, bounds=(FAMILY_LO, FAMILY_HI), diff_step=1e-3) for x0 in FAMILY_STARTS]
    best = min(fits, key=lambda r: float(r.cost))
    return float(FAMILY_GRID_BPM[int(np.argmax(_family_shape(FAMILY_GRID_BPM, best.x)))])


class Sweep(Coach):
    """A reference, not a coach: sweeps 4-7.5/min evenly, then holds an estimate.

    It reads every breath as the coach does (it *is* the coach with the decisions replaced),
    shows :data:`SWEEP_BPM` in turn, ``per_pace`` breaths each, until ``scan_min`` minutes,
    then holds the estimate of that moment: the coach's ``fit_peak`` (``person=None``), the
    family oracle (``family=True``: :func:`family_peak`) or, given the simulated person, the
    shape oracle (the true swing curve, shifted and scaled, fitted to log swing).
    """

    def __init__(self, scan_min: float, person: Person | None = None, per_pace: int = 2,
                 around_truth: bool = False, family: bool = False) -> None:
        super().__init__()
        self.family = family
        self.sweep_bpm = SWEEP_BPM
        if around_truth and person is not None:  # the best places for this person, known only to an oracle
            self.sweep_bpm = np.clip(person.resonance_bpm + AROUND_BPM, 4.0, 7.5)
        self.scan_s = 60.0 * scan_min
        self.per_pace = per_pace
        self.person = person
        self._k = 0
        self._held: float | None = None
        if person is not None:
            self._q = np.arange(1.0, 14.0, 0.01)
            self._log_f = np.log([person.swing_bpm(float(q)) for q in self._q])

    def _shape_peak(self) -> float | None:
        assert self.person is not None
        breaths = _weighed_log(*self._weights(), 4)
        if breaths is None:
            return None
        p, y, w = breaths
        shifts = np.arange(-2.5, 2.5001, 0.01)
        pred = np.interp(p[None, :] - shifts[:, None], self._q, self._log_f)
        sse = (w * about_height(y[None, :], pred, w) ** 2).sum(axis=1)
        return float(self.person.resonance_bpm + shifts[int(np.argmin(sse))])

    def _decide(self, t_s: float) -> None:
        first = self._first_t if self._first_t is not None else t_s
        if self._held is None and t_s - first >= self.scan_s:
            if self.person is not None:
                est = self._shape_peak()
            elif self.family:
                est = family_peak(*self._weights())
            else:
                est = fit.peak_bpm if (fit := self._refit()) is not None else None
            self._held = float(np.clip(est if est is not None else 6.0, 4.0, 7.5))
            self.resonance_bpm = self._held
        if self._held is not None:
            self._set(t_s, self._held, "hold", "hold", "Holding the estimate, {pace:.2f}/min.")
            return
        self._k += 1
        pace = float(self.sweep_bpm[(self._k // self.per_pace) % self.sweep_bpm.size])
        self._set(t_s, pace, "search", "sweep", "Sweeping: {pace:.2f}/min.")


CONTROLLERS: dict[str, Callable[[Person], Controller]] = {
    "coach": lambda p: Coach(),
    "fixed 6": lambda p: FixedPace(6.0),
    "stepped": lambda p: SteppedProtocol(),
    "ideal sampling 14": lambda p: Sweep(14.0),
    "oracle family 14": lambda p: Sweep(14.0, family=True),
    "oracle shape 14": lambda p: Sweep(14.0, p),
    "oracle shape 5": lambda p: Sweep(5.0, p),
    "oracle design 14": lambda p: Sweep(14.0, p, per_pace=3, around_truth=True),
    "oracle design 5": lambda p: Sweep(5.0, p, per_pace=3, around_truth=True),
}


def run_people(variant: str, n: int, seed: int, minutes: float, name: str) -> list[PersonResult]:
    """One controller on the ``n`` people of ``variant`` drawn with ``seed``."""
    return [run_session(p, CONTROLLERS[name](p), minutes=minutes) for p in sample_people(n, seed, variant)]


def run_variants(variants: list[str], n: int, seeds: list[int], minutes: float, names: list[str],
                 jobs: int) -> Iterator[tuple[str, dict[str, list[PersonResult]], float]]:
    """Every controller in ``names`` on the same people of each variant, ``n`` per seed, pooled.

    Yields ``(variant, {controller: results}, seconds)`` in the order of ``variants``, each as
    soon as its sessions are done. The sessions run in ``jobs`` processes; the figures do not
    depend on how many (each person is seeded).
    """
    tasks = [(v, name, seed) for v in variants for name in names for seed in seeds]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {task: pool.submit(run_people, task[0], n, task[2], minutes, task[1]) for task in tasks}
        for v in variants:
            runs = {name: [r for seed in seeds for r in futures[(v, name, seed)].result()] for name in names}
            yield v, runs, time.perf_counter() - t0


# The model's noise sources, each with the parameters that zero it (``--noise-budget``).
NOISE_SOURCES: dict[str, dict[str, float]] = {
    "Mayer waves": {"mayer_bpm": 0.0},
    "1/f heart rate": {"pink_bpm": 0.0},
    "breath depth CV": {"follow_depth_cv": 0.0},
    "phase drift": {"phase_drift": 0.0},
    "lapses": {"lapse_per_min": 0.0},
    "beat jitter": {"jitter_ms": 0.0},
    "strap artefacts": {"artefact_rate": 0.0},
}


def without(people: list[Person], zero: dict[str, float]) -> list[Person]:
    """The same people (same parameters otherwise, same seeds) with some noise parameters set."""
    return [Person(dataclasses.replace(p.params, **zero), seed=p.seed) for p in people]


def noise_budget(variant: str, n: int, seed: int, minutes: float, names: list[str]) -> dict[str, Any]:
    """Each controller on the same people with no noise source removed, each removed alone, all removed.

    Where removing one source moves a reference most, that source limits what the heartbeats
    tell about the peak.
    """
    base = sample_people(n, seed, variant)
    conditions = {"none removed": {}, **NOISE_SOURCES,
                  "all removed": {k: v for zero in NOISE_SOURCES.values() for k, v in zero.items()}}
    out: dict[str, Any] = {}
    print(f"\n### noise budget: {variant}, {n} people, seed {seed}: median abs(final - resonance) /min, "
          f"within 0.5 at end, >= 95% of best swing\n")
    print("| noise source removed | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for label, zero in conditions.items():
        t0 = time.perf_counter()
        cells, out[label] = [], {}
        for name in names:
            s = summarise([run_session(p, CONTROLLERS[name](p), minutes=minutes) for p in without(base, zero)])
            out[label][name] = dataclasses.asdict(s)
            cells.append(f"{s.median_abs_error_bpm:.2f}, {100 * s.near_share:.0f}%, {100 * s.good_swing_share:.0f}%")
        print(f"| {label} | " + " | ".join(cells) + f" |  <!-- {time.perf_counter() - t0:.0f} s -->", flush=True)
    return out


def fmt_summary(name: str, s: Summary) -> str:
    t = "never" if math.isinf(s.median_time_near_min) else f"{s.median_time_near_min:.1f}"
    return (f"| {name} | {100 * s.good_swing_share:.0f}% | {s.median_hr_drop_pct:.2f}% | "
            f"{s.median_abs_error_bpm:.2f} | {100 * s.near_share:.0f}% | {t} | "
            f"{s.min_pace_bpm:.2f} / {s.max_step_bpm:.2f} |")


HEADER = ("| controller | >= 95% of best swing | median HR drop | median abs(final - resonance) /min | "
          "within 0.5 at end | median min until it stays within 0.5 | slowest pace / largest step |\n"
          "|---|---|---|---|---|---|---|")


# The README's tables, one per target (``--tables``): title, Summary field, cell format.
TABLES: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    (">= 95% of best swing (share of people, %)", "good_swing_share", lambda x: f"{100 * x:.0f}"),
    ("median abs(final - resonance), /min", "median_abs_error_bpm", lambda x: f"{x:.2f}"),
    ("within 0.5/min at the end (share of people, %)", "near_share", lambda x: f"{100 * x:.0f}"),
    ("median minutes until the pace stays within 0.5/min", "median_time_near_min",
     lambda x: "never" if math.isinf(x) else f"{x:.1f}"),
    ("median heart-rate drop over the session, %", "median_hr_drop_pct", lambda x: f"{x:.2f}"),
)


PAIRED_TITLE = "heart-rate drop, coach - stepped, on the same people (% points)"


def markdown_tables(results: dict[str, Any]) -> str:
    """The figures of a results file (``--out``) as one Markdown table per target, controllers as
    columns; then, where the file has it, the coach's drop against the stepped protocol's, person
    by person."""
    variants = results["variants"]
    names = list(next(iter(variants.values()))["summaries"])
    parts = []
    for title, field, cell in TABLES:
        rows = [f"**{title}**", "", "| variant | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        rows += [f"| {v} | " + " | ".join(cell(float(d["summaries"][n][field])) for n in names) + " |"
                 for v, d in variants.items()]
        parts.append("\n".join(rows))
    paired = {v: d["paired_drop"] for v, d in variants.items() if "paired_drop" in d}
    if paired:
        rows = [f"**{PAIRED_TITLE}**", "", "| variant | median | 90% interval | coach >= stepped |", "|---|---|---|---|"]
        rows += [f"| {v} | {p['median_diff_pct']:+.2f} | {p['ci90_pct'][0]:+.2f} to {p['ci90_pct'][1]:+.2f} | "
                 f"{100 * p['share_at_least']:.0f}% |" for v, p in paired.items()]
        parts.append("\n".join(rows))
    return "\n\n".join(parts) + "\n"


def per_beat_cost_us(seed: int, minutes: float) -> dict[str, float]:
    """Time of the coach plus the pacer on each beat (the BreathGuide step) over one session, µs."""
    person = sample_people(1, seed, "default")[0]
    pacer = Pacer(BreathPattern(6.0))
    guide = BreathGuide(Coach(), pacer)
    check = LiveArtefactFilter()
    times: list[float] = []
    end_s = 60.0 * minutes
    while True:
        beat = person.next_beat(pacer.at)
        if beat.t_s > end_s:
            break
        if check.accept(beat.rr_ms):
            t0 = time.perf_counter_ns()
            guide.on_beat(beat.t_s, beat.rr_ms)
            times.append((time.perf_counter_ns() - t0) / 1000.0)
    times.sort()
    return {"median_us": statistics.median(times), "p90_us": times[int(0.9 * len(times))],
            "p99_us": times[int(0.99 * len(times))], "max_us": times[-1], "mean_us": statistics.fmean(times),
            "beats": len(times)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=40, help="people per seed and variant (default 40)")
    ap.add_argument("--seed", default=SCORE_SEEDS, help="a seed, or comma-separated seeds whose people are pooled "
                    f"(default {SCORE_SEEDS}; the noise budget takes the first)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="processes to run sessions in (default: one per CPU; the figures do not depend on it)")
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--variants", default=None,
                    help=f"comma-separated VARIANTS keys, or all (default: {QUICK_VARIANTS}; "
                    "the default variant alone with --noise-budget)")
    ap.add_argument("--all", action="store_true", help="every variant (same as --variants all)")
    ap.add_argument("--controllers", default="all", help=f"comma-separated of: {', '.join(CONTROLLERS)}")
    ap.add_argument("--noise-budget", action="store_true",
                    help="the controllers (default: oracle shape 14, coach) with each of the model's noise "
                    "sources removed in turn")
    ap.add_argument("--tables", metavar="RESULTS.json", default=None,
                    help="run nothing: print the figures of a results file as the README's tables, one per target")
    ap.add_argument("--out", default=None, help="JSON of every figure (default: benchmarks/coach_results.json "
                    "with --all, none otherwise)")
    args = ap.parse_args(argv)
    if args.tables is not None:
        try:
            print(markdown_tables(json.loads(Path(args.tables).read_text())), end="")
        except (OSError, ValueError, KeyError, TypeError, AttributeError, StopIteration) as e:
            print(f"error: {args.tables}: not a results file of this benchmark ({e}); give one --out wrote",
                  file=sys.stderr)
            return 2
        return 0
    try:
        seeds = [int(x) for x in args.seed.split(",")]
    except ValueError:
        print(f"error: --seed must be an integer or comma-separated integers, not {args.seed!r}", file=sys.stderr)
        return 2
    chosen = args.variants or ("default" if args.noise_budget else QUICK_VARIANTS)
    variants = list(VARIANTS) if args.all or chosen == "all" else chosen.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    names = None if args.controllers == "all" else args.controllers.split(",")
    if unknown or (names is not None and any(n not in CONTROLLERS for n in names)):
        print(f"error: unknown variant {unknown[0]!r}" if unknown else
              f"error: --controllers must be some of {', '.join(CONTROLLERS)}", file=sys.stderr)
        return 2
    if args.noise_budget:
        names = names or ["oracle shape 14", "coach"]
        budget = {v: noise_budget(v, args.people, seeds[0], args.minutes, names) for v in variants}
        if args.out:
            Path(args.out).write_text(json.dumps({"people": args.people, "seed": seeds[0], "minutes": args.minutes,
                                                  "noise_budget": budget}, indent=1) + "\n")
        return 0
    out = args.out or (str(ROOT / "benchmarks" / "coach_results.json") if len(variants) == len(VARIANTS) else None)
    results: dict[str, Any] = {"people_per_seed": args.people, "seeds": seeds, "tuning_seed": TUNING_SEED,
                               "minutes": args.minutes, "variants": {}}
    passes: dict[str, int] = {}
    who = f"{args.people * len(seeds)} people, seed{'s' if len(seeds) > 1 else ''} {','.join(map(str, seeds))}"
    for variant, runs, elapsed_s in run_variants(variants, args.people, seeds, args.minutes,
                                                 names or list(CONTROLLERS), max(1, args.jobs)):
        sums = {name: summarise(rs) for name, rs in runs.items()}
        print(f"\n### {variant}: {VARIANTS[variant].description} ({who}; {elapsed_s:.0f} s so far)\n")
        print(HEADER)
        for name, s in sums.items():
            print(fmt_summary(name, s))
        results["variants"][variant] = {"summaries": {name: dataclasses.asdict(s) for name, s in sums.items()}}
        if "coach" not in sums or "stepped" not in sums:
            continue
        rows = target_rows(sums["coach"], sums["stepped"])
        print("\n| coach target | wanted | measured | |\n|---|---|---|---|")
        for target, wanted, measured, met in rows:
            print(f"| {target} | {wanted} | {measured} | {'PASS' if met else 'FAIL'} |")
            passes[target] = passes.get(target, 0) + int(met)
        results["variants"][variant]["targets"] = [
            {"target": t, "wanted": w, "measured": m, "met": ok} for t, w, m, ok in rows]
        if len(runs["coach"]) < 2:
            continue
        pair = paired_drop(runs["coach"], runs["stepped"])
        results["variants"][variant]["paired_drop"] = dataclasses.asdict(pair)
        print(f"\nheart-rate drop, coach - stepped, person by person: median {pair.median_diff_pct:+.2f} points "
              f"(90% interval {pair.ci90_pct[0]:+.2f} to {pair.ci90_pct[1]:+.2f}); the coach's at least the "
              f"stepped protocol's for {100 * pair.share_at_least:.0f}% of {pair.n} people")
    print(f"\n### targets met, of {len(variants)} variants\n")
    for target, k in passes.items():
        print(f"- {target}: {k}/{len(variants)}")
    cost = per_beat_cost_us(seeds[0], args.minutes)
    results["per_beat"] = cost
    print(f"\nper beat, coach + pacer: median {cost['median_us']:.1f} µs (target < 100), p90 {cost['p90_us']:.1f}, "
          f"p99 {cost['p99_us']:.0f}, max {cost['max_us']:.0f}, mean {cost['mean_us']:.1f} over {cost['beats']} beats"
          f" -> {'PASS' if cost['median_us'] < 100 else 'FAIL'}")
    if out is not None:
        Path(out).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
