"""Is the simulated person's per-breath swing noise realistic? Real recordings against the model.

One command, from the repository root::

    python benchmarks/person_realism.py [--people 8] [--seed 2026]

The README's coach section argues that the swing read at one pace carries correlated
error: consecutive breaths share slow Mayer waves, 1/f drift and settling, so 10-20 breaths
still read 0.8-1.2x the truth. This script measures that noise structure the same way on
the real recordings in ``tests/data`` and on the simulated person (``default`` variant,
10-minute sessions, like the real slow-breathing recording):

- per-breath swing: :func:`biofeedback.hrv.rsa_amplitude` from the tachogram (no pacer
  onsets, for real and simulated alike), after
  :func:`biofeedback.artifacts.correct_artifacts`;
- CV of the per-breath swing (SD / mean);
- for blocks of k = 3, 5, 10 consecutive breaths (overlapping, every start), the SD of the
  block means over the overall mean, divided by CV / sqrt(k): 1 for independent breaths,
  above 1 when the per-breath error is positively correlated (its square is the variance
  inflation of a k-breath mean);
- the lag-1..3 autocorrelation of the per-breath swing.

Columns: the real slow-breathing session (Polar H10, about 3.9 breaths/min, one recording),
with the 5-95% range of each figure over shuffled orders of its own breaths (what
independent breaths of that recording would give); simulated people following a fixed
prompt at 4/min and at 6/min; the real resting recordings cut into 10-minute segments
(spontaneous breathing); simulated people breathing on their own. For several units
(people, segments) a figure is the median over units. ``n`` is the number of breaths
(and units) each column rests on.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from biofeedback.artifacts import correct_artifacts
from biofeedback.errors import BiofeedbackError
from biofeedback.hrv import rsa_amplitude
from biofeedback.pacer import BreathPattern, Pacer
from biofeedback.physiology import Person, sample_people

FloatArray = npt.NDArray[np.float64]
DATA = ROOT / "tests" / "data"
SLOW = "polarh10_slow_breathing.txt"
RESTING = ("pyhrv_nsrdb_5min.txt", "pyhrv_nsrdb_60min.txt", "nsr2db_nsr001.txt", "rrhealthy_000.txt")
SEGMENT_S = 600.0  # the length of a unit: the slow-breathing recording is 10 min
MIN_SEGMENT_S = 240.0  # a shorter tail segment is dropped (the 5-min recording is kept whole)
BLOCKS = (3, 5, 10)
LAGS = (1, 2, 3)
SHUFFLES = 2000


@dataclass(frozen=True)
class Figures:
    """Noise figures of one unit's per-breath swings."""

    n: int
    mean_bpm: float
    cycle_cv: float  # CV of the breath cycle lengths (how steady the pace was)
    cv: float
    ratio: dict[int, float]  # block size -> SD(block means)/mean / (CV/sqrt(k))
    acf: dict[int, float]  # lag -> autocorrelation
    truth: float = math.nan  # simulated: session mean swing / the model's swing_bpm at the prompt's pace


def figures(swing_bpm: FloatArray, cycle_s: FloatArray | None = None) -> Figures:
    """CV, block-mean ratios and autocorrelations of a series of per-breath swings (NaN dropped)."""
    a = swing_bpm[np.isfinite(swing_bpm)]
    cycle_cv = math.nan if cycle_s is None else float(np.std(cycle_s, ddof=1) / np.mean(cycle_s))
    mean = float(np.mean(a))
    cv = float(np.std(a, ddof=1)) / mean
    ratio = {}
    for k in BLOCKS:
        block = np.convolve(a, np.ones(k) / k, mode="valid")
        ratio[k] = float(np.std(block, ddof=1)) / mean / (cv / math.sqrt(k)) if block.size >= 2 else math.nan
    d = a - mean
    acf = {lag: float(np.dot(d[:-lag], d[lag:]) / np.dot(d, d)) for lag in LAGS}
    return Figures(int(a.size), mean, cycle_cv, cv, ratio, acf)


def breath_figures(rr_ms: FloatArray, *, regress_length: bool = False) -> Figures:
    """Figures of an RR series' per-breath swings: artefacts corrected, cycles from the tachogram.

    With ``regress_length`` the swing's linear dependence on the breath's length is removed
    first (least squares, mean kept): what is left when an unsteady pace is discounted.
    """
    b = rsa_amplitude(None, correct_artifacts(rr_ms))
    swing, length_s = b.amplitude_bpm, b.end_s - b.start_s
    if regress_length:
        ok = np.isfinite(swing)
        x = np.vstack([np.ones(int(ok.sum())), length_s[ok]]).T
        coef = np.linalg.lstsq(x, swing[ok], rcond=None)[0]
        swing = swing[ok] - x @ coef + float(np.mean(swing[ok]))
        length_s = length_s[ok]
    return figures(swing, length_s)


def segments(rr_ms: FloatArray) -> list[FloatArray]:
    """Consecutive ``SEGMENT_S`` pieces of a recording (a tail under ``MIN_SEGMENT_S`` dropped)."""
    t = np.cumsum(rr_ms) / 1000.0
    edges = np.searchsorted(t, np.arange(0.0, t[-1] + SEGMENT_S, SEGMENT_S))
    out = []
    for lo, hi in itertools.pairwise(edges):
        piece = rr_ms[lo:hi]
        if piece.size >= 8 and piece.sum() / 1000.0 >= MIN_SEGMENT_S:
            out.append(piece)
    return out


def simulated_rr(person: Person, pace_bpm: float | None, minutes: float) -> FloatArray:
    """``minutes`` of a person's strap intervals, following a fixed prompt (or on their own if None)."""
    sees = None if pace_bpm is None else Pacer(BreathPattern(pace_bpm)).at
    rr = []
    while person.t_s < minutes * 60.0:
        rr.append(person.next_beat(sees).rr_ms)
    return np.asarray(rr, dtype=np.float64)


@dataclass(frozen=True)
class Column:
    """One column of the table: the figures of its units, pooled by the median."""

    title: str
    units: list[Figures]

    def value(self, pick: str) -> float:
        return float(np.median([getattr_figure(f, pick) for f in self.units]))

    def cell(self, pick: str) -> str:
        v = self.value(pick)
        if len(self.units) == 1:
            return f"{v:.2f}"
        vals = [getattr_figure(f, pick) for f in self.units]
        return f"{v:.2f} ({np.nanmin(vals):.2f}..{np.nanmax(vals):.2f})"

    def count(self) -> str:
        n = sum(f.n for f in self.units)
        return f"{n} breaths" if len(self.units) == 1 else f"{n} breaths, {len(self.units)} units"


def getattr_figure(f: Figures, pick: str) -> float:
    """A figure by row key: ``cv``, ``ratio3``..., ``acf1``..."""
    if pick == "cv":
        return f.cv
    if pick == "truth":
        return f.truth
    if pick.startswith("ratio"):
        return f.ratio[int(pick[5:])]
    return f.acf[int(pick[3:])]


ROWS: tuple[tuple[str, str], ...] = (
    ("cv", "per-breath swing CV"),
    *((f"ratio{k}", f"{k}-breath means: SD / (CV/sqrt {k})") for k in BLOCKS),
    *((f"acf{lag}", f"autocorrelation, lag {lag}") for lag in LAGS),
)


def shuffled_range(swing_bpm: FloatArray, seed: int) -> dict[str, tuple[float, float]]:
    """5-95% range of each figure over random orders of the same breaths (independence)."""
    rng = np.random.default_rng(seed)
    a = swing_bpm[np.isfinite(swing_bpm)]
    draws = [figures(rng.permutation(a)) for _ in range(SHUFFLES)]
    out = {}
    for key, _ in ROWS:
        v = np.array([getattr_figure(f, key) for f in draws])
        out[key] = (float(np.quantile(v, 0.05)), float(np.quantile(v, 0.95)))
    return out


def table(columns: Sequence[Column], null: dict[str, tuple[float, float]] | None) -> str:
    head = ["figure", *(c.title for c in columns)]
    if null is not None:
        head.insert(2, "real slow, shuffled 5-95%")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label in (("n", "breaths (units)"), ("mean", "mean swing, bpm"), ("truth", "sim: session mean / model truth"),
                       ("cycle", "breath length CV"), *ROWS):
        if key == "n":
            cells = [c.count() for c in columns]
            extra = "-"
        elif key == "mean":
            cells = [f"{float(np.median([f.mean_bpm for f in c.units])):.1f}" for c in columns]
            extra = "-"
        elif key == "truth":
            cells = [c.cell(key) if any(math.isfinite(f.truth) for f in c.units) else "-" for c in columns]
            extra = "-"
        elif key == "cycle":
            cells = [f"{float(np.median([f.cycle_cv for f in c.units])):.2f}" for c in columns]
            extra = "-"
        else:
            cells = [c.cell(key) for c in columns]
            extra = "-" if null is None or key == "cv" else f"{null[key][0]:.2f}..{null[key][1]:.2f}"
        if null is not None:
            cells.insert(1, extra)
        lines.append("| " + " | ".join([label, *cells]) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=8, help="simulated people per column (default 8)")
    ap.add_argument("--seed", type=int, default=2026, help="seed of the simulated people (default 2026)")
    args = ap.parse_args(argv)
    try:
        slow_rr = np.loadtxt(DATA / SLOW)
        slow_b = rsa_amplitude(None, correct_artifacts(slow_rr))
        slow, rate = slow_b.amplitude_bpm, slow_b.breathing_rate_per_min
        resting: list[Figures] = []
        for name in RESTING:
            for piece in segments(np.loadtxt(DATA / name)):
                resting.append(breath_figures(piece))

        def sim(pace: float | None) -> list[Figures]:
            people = sample_people(args.people, args.seed, "default")
            out = []
            for p in people:
                f = breath_figures(simulated_rr(p, pace, SEGMENT_S / 60.0))
                truth = math.nan if pace is None else f.mean_bpm / p.swing_bpm(pace)
                out.append(dataclasses.replace(f, truth=truth))
            return out

        columns = [
            Column(f"real slow breathing ({rate:.1f}/min, 1 recording)", [breath_figures(slow_rr)]),
            Column("real slow, breath length regressed out", [breath_figures(slow_rr, regress_length=True)]),
            Column("sim, prompt 4/min", sim(4.0)),
            Column("sim, prompt 6/min", sim(6.0)),
            Column("real resting, 10-min segments", resting),
            Column("sim, own breathing", sim(None)),
        ]
        null = shuffled_range(slow, args.seed)
    except (BiofeedbackError, OSError, ValueError) as exc:
        print(f"person_realism: {exc}", file=sys.stderr)
        return 1
    print(table(columns, null))
    print()
    print("Several units: median (min..max) over people or segments. Swing: rsa_amplitude from the tachogram,")
    print("after correct_artifacts; 10-minute sessions, simulated people of the default variant.")
    print("Ratio 1 = independent breaths; its square is how much a k-breath mean's variance exceeds CV^2/k.")
    print("Session mean / model truth: max-min over beats against Person.swing_bpm (beat noise inflates max-min).")
    print(f"Caveat: the real slow-breathing column is ONE 10-minute recording ({figures(slow).n} breaths):")
    print("its autocorrelations carry a standard error of about 1/sqrt(n) = "
          f"{1 / math.sqrt(figures(slow).n):.2f}, and the shuffled column shows how far independent")
    print("breaths of that recording would scatter. It is little evidence either way; the resting")
    print("recordings are spontaneous (unpaced) breathing, a different regime from paced slow breathing.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
