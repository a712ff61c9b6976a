"""Study: where the slow lean of the coach's estimator comes from, and one estimator tried against it.

One command, from the repository root::

    python benchmarks/coach_lean.py                     # default and poor_follower, seeds 1,77 (about 3 min on 2 cores)
    python benchmarks/coach_lean.py --variants default,broad,narrow,noisy,poor_follower,small_swing --seed 1,77,78

On the breaths of the ``ideal sampling 14`` reference of ``benchmarks/coach.py`` (an even sweep of
4-7.5/min, 2 breaths a pace, read exactly as the coach reads them; the very breaths and weights
it fits its estimate on at minute 14), ``coach_evidence.fit_peak`` ends slower than the person's resonance. Each row splits that lean:

- ``fit_peak, measured``: median signed ``estimate - resonance`` (/min) and median abs error,
  on the swings as measured;
- ``fit_peak, truth values``: the same estimator on the same breaths and weights, each swing
  replaced by the model's truth ``Person.swing_bpm(pace)``: the lean that the curve's shape
  alone gives it (it is flatter below its peak than above);
- ``measured / truth``: the median of ``log(measured / truth)`` over breaths 0.75-2.25/min
  below the resonance, within 0.5 of it, and 0.75-2.25 above it: a tilt in the measured curve
  itself; then the same as weighted medians with ``fit_peak``'s weights (the coach's
  ``_weights``), the curve the estimator sees;
- ``tilted resonator``: an estimator that learns an asymmetric shape, the amplitude of a
  second-order resonator times a power law of pace (``log swing = a - alpha log pace -
  0.5 log(1 + Q^2 (p/c - c/p)^2)``, ``a, alpha, c, Q`` fitted by grid least squares on log
  swing). Above its peak it falls as a resonance does; ``alpha`` lets the slow side be as flat
  as deeper slow breaths make it. It uses no parameter of our model.

Rows are given for the people as drawn, and with some of the model's noise sources removed
(``--remove``, the names of ``coach.NOISE_SOURCES``; ``all`` removes every one), the same
people otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NoReturn

import numpy as np

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from coach import NOISE_SOURCES, Sweep, about_height, without  # the reference sweep, as the benchmark runs it

from biofeedback.coach_evidence import PeakFit, fit_peak
from biofeedback.evaluation import run_session
from biofeedback.physiology import VARIANTS, sample_people

ALPHAS = np.linspace(-0.5, 1.5, 9)  # power of the pace tilt (depth ~ pace^-alpha)
QS = np.geomspace(0.3, 6.0, 20)  # sharpness of the resonance
CENTRES_BPM = np.arange(3.0, 9.0001, 0.02)  # its centre, /min


def log_swing(swing_bpm: np.ndarray) -> np.ndarray:
    """Log swing, floored at 0.2 times the median swing, as ``fit_peak`` floors it."""
    return np.log(np.maximum(swing_bpm, 0.2 * float(np.median(swing_bpm))))


def tilted_resonator_peak(pace_bpm: np.ndarray, swing_bpm: np.ndarray, weight: np.ndarray) -> float | None:
    """Pace of the largest swing (/min) of the best tilted resonator, within the visited paces."""
    keep = weight > 1e-3
    p, s, w = pace_bpm[keep], swing_bpm[keep], weight[keep]
    if p.size < 4:
        return None
    y = log_swing(s)
    paces, which = np.unique(p, return_inverse=True)  # breaths share paces: fit the weighted mean per pace
    w_pace = np.bincount(which, w)
    y_pace = np.bincount(which, w * y) / w_pace
    if paces.size < 3:
        return None
    x = paces[None, :] / CENTRES_BPM[:, None] - CENTRES_BPM[:, None] / paces[None, :]
    shape = -0.5 * np.log1p((QS[:, None, None] * x[None]) ** 2)[None] - ALPHAS[:, None, None, None] * np.log(paces)
    sse = (w_pace * about_height(y_pace, shape, w_pace) ** 2).sum(-1)
    ia, iq, ic = np.unravel_index(int(np.argmin(sse)), sse.shape)
    c, q, alpha = CENTRES_BPM[ic], QS[iq], ALPHAS[ia]
    grid = np.arange(max(4.0, paces[0]), min(7.5, paces[-1]) + 1e-9, 0.01)
    curve = -0.5 * np.log1p((q * (grid / c - c / grid)) ** 2) - alpha * np.log(grid)
    return float(grid[int(np.argmax(curve))])


def weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    """The value at half the total weight of ``x`` sorted (NaN when nothing weighs)."""
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    if cum.size == 0 or cum[-1] <= 0:
        return math.nan
    return float(x[order][int(np.searchsorted(cum, 0.5 * cum[-1]))])


def sides(pace_bpm: np.ndarray, swing_bpm: np.ndarray, truth_bpm: np.ndarray, weight: np.ndarray,
          resonance_bpm: float) -> dict[str, float]:
    """Median log(measured / truth) of the weighed breaths 0.75-2.25/min below the resonance,
    within 0.5 of it and 0.75-2.25 above it, plain and weighted (NaN for a side with none).
    Swings are floored as ``fit_peak`` floors them (:func:`log_swing`, over the weighed breaths)."""
    used = weight > 1e-3
    if not used.any():
        return {f"{side}{kind}": math.nan for side in ("below", "near", "above") for kind in ("", " weighted")}
    ratio = log_swing(swing_bpm[used]) - np.log(truth_bpm[used])
    off, w = pace_bpm[used] - resonance_bpm, weight[used]
    masks = {"below": (off <= -0.75) & (off >= -2.25), "near": np.abs(off) <= 0.5, "above": (off >= 0.75) & (off <= 2.25)}
    out = {side: float(np.median(ratio[m])) if m.any() else math.nan for side, m in masks.items()}
    out.update({f"{side} weighted": weighted_median(ratio[m], w[m]) for side, m in masks.items()})
    return out


class _Snapshot(Sweep):
    """``ideal sampling 14`` itself, keeping the breaths and weights it fits its estimate on."""

    breaths_fitted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _refit(self) -> PeakFit | None:
        pace, swing, w = self._weights()
        self.breaths_fitted = (pace.copy(), swing.copy(), w.copy())
        return super()._refit()


def one_person(args: tuple[str, int, int, int, tuple[str, ...]]) -> dict[str, float]:
    """The estimates for person ``i`` of (variant, seed, n), with the named noise sources removed."""
    variant, seed, n, i, removed = args
    zero = {k: v for name in removed for k, v in NOISE_SOURCES[name].items()}
    person = without(sample_people(n, seed, variant), zero)[i]
    sweep = _Snapshot(14.0)
    run_session(person, sweep, minutes=15.0)
    assert sweep.breaths_fitted is not None, "the sweep never reached its estimate"
    pace, swing, w = sweep.breaths_fitted
    truth = np.array([person.swing_bpm(float(q)) for q in pace])
    res = person.resonance_bpm
    bandwidth = sweep.options.bandwidth_bpm
    fit = fit_peak(pace, swing, w, bandwidth_bpm=bandwidth)
    fit_truth = fit_peak(pace, truth, w, bandwidth_bpm=bandwidth)

    def err(e: float | None) -> float:
        return (min(max(e, 4.0), 7.5) if e is not None else 6.0) - res

    return {"measured": err(fit.peak_bpm if fit else None), "truth": err(fit_truth.peak_bpm if fit_truth else None),
            "tilted": err(tilted_resonator_peak(pace, swing, w)), "held": float(sweep.resonance_bpm or 6.0) - res,
            **sides(pace, swing, truth, w, res)}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}; see --help\n")


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default="default,poor_follower", help="comma-separated VARIANTS keys")
    ap.add_argument("--seed", default="1,77", help="comma-separated seeds whose people are pooled (default 1,77)")
    ap.add_argument("--people", type=int, default=20, help="people per seed (default 20)")
    ap.add_argument("--remove", default="lapses;all",
                    help="semicolon-separated conditions, each comma-separated noise sources to remove, or all "
                    f"(default 'lapses;all'); sources: {', '.join(NOISE_SOURCES)}")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    variants = args.variants.split(",")
    conditions: list[tuple[str, ...]] = [()]
    for cond in filter(None, args.remove.split(";")):
        names = cond.split(",")
        conditions.append(tuple(NOISE_SOURCES) if "all" in names else tuple(names))
    bad = [v for v in variants if v not in VARIANTS] + [s for c in conditions for s in c if s not in NOISE_SOURCES]
    try:
        seeds = [int(s) for s in args.seed.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        bad.append(args.seed)
    if bad:
        print(f"error: unknown variant, noise source or seed {bad[0]!r}; see --help", file=sys.stderr)
        return 2
    if args.people < 1 or args.jobs < 1:
        print("error: --people and --jobs must be at least 1", file=sys.stderr)
        return 2
    print("| variant | removed | fit_peak, measured: lean, abs error /min | fit_peak, truth values: lean | "
          "log measured / truth: below, near, above the peak | the same, weighted as fit_peak weighs | "
          "tilted resonator: lean, abs error /min |")
    print("|---|---|---|---|---|---|---|")
    with ProcessPoolExecutor(args.jobs) as pool:
        for variant in variants:
            for removed in conditions:
                jobs = [(variant, s, args.people, i, removed) for s in seeds for i in range(args.people)]
                rows = list(pool.map(one_person, jobs))

                def med(key: str, absolute: bool = False, rows: list[dict[str, float]] = rows) -> float:
                    vals = np.array([r[key] for r in rows])
                    return float(np.nanmedian(np.abs(vals) if absolute else vals))

                label = "all" if set(removed) == set(NOISE_SOURCES) else (", ".join(removed) or "nothing")
                print(f"| {variant} | {label} | {med('measured'):+.2f}, {med('measured', True):.2f} | "
                      f"{med('truth'):+.2f} | {med('below'):+.3f}, {med('near'):+.3f}, {med('above'):+.3f} | "
                      f"{med('below weighted'):+.3f}, {med('near weighted'):+.3f}, {med('above weighted'):+.3f} | "
                      f"{med('tilted'):+.2f}, {med('tilted', True):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
