"""Benchmarks: biofeedback's HRV metrics against NeuroKit2, hrv-analysis and pyhrv.

One command, from the repository root (peers installed by ``bash benchmarks/setup.sh``)::

    python benchmarks/run.py            # prints the table, writes benchmarks/results.json

Workloads (real recordings from ``tests/data``, origin and licence in its README; PhysioNet
nsrdb / nsr2db, ODC-By 1.0):

(a) full metric set (time domain + frequency domain + Poincaré) of a 5-minute window
    (pyhrv_nsrdb_5min, 337 beats);
(b) the same on 100,000 real beats (the first 100,000 of nsr2db_nsr001), plus the peak
    memory of ours, measured in a fresh subprocess;
(c) the live workload: RMSSD and HF power of a 60 s window advanced beat by beat over an
    hour (pyhrv_nsrdb_60min): ``SlidingHRV`` against each peer computing every window
    afresh. Peers run on every k-th window (k stated in the table) and are scaled to all
    windows. Also: the streaming estimator's LF/HF error against the batch method on every
    window of three recordings, and the median time of one update + read.

Every timing is a median over repeats, single-threaded (thread variables set to 1 before
numpy is imported). A missing peer is skipped with the command that installs it.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_var] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")  # pyhrv draws figures

import argparse
import datetime
import functools
import importlib
import json
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from biofeedback.hrv.frequency import frequency_domain
from biofeedback.hrv.poincare import poincare
from biofeedback.hrv.sliding import SlidingHRV
from biofeedback.hrv.time_domain import time_domain

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
PEERS = ("neurokit2", "hrv-analysis", "pyhrv")
INSTALL = {
    "neurokit2": "pip install neurokit2==0.2.13 'pandas<3'",
    "hrv-analysis": "pip install --no-deps hrv-analysis==1.0.6 && pip install nolds==0.6.2 astropy",
    "pyhrv": "pip install pyhrv==0.5.0 peakutils biosppy spectrum matplotlib",
}
WINDOW_S = 60.0
TARGETS = {
    "update_median_us": 50.0,  # one streaming update + RMSSD + HF read, median
    "live_per_beat_us": 25.0,  # workload (c), ours per window
    "live_vs_fastest_peer": 20.0,  # workload (c), fastest peer / ours
    "big_peak_rss_mb": 200.0,  # workload (b): traced allocations, and whole-process RSS
    "help_s": 0.3,  # `biofeedback --help` in a fresh interpreter, median wall time
}


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- timing


def median_time(
    fn: Callable[[], object],
    *,
    budget_s: float = 2.0,
    min_rep: int = 3,
    max_rep: int = 50,
) -> dict[str, float]:
    """Median wall time of ``fn()`` (s) over repeats chosen to fit ``budget_s``; first call separate."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    reps = int(min(max(budget_s / max(first, 1e-9), min_rep), max_rep))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {
        "median_s": statistics.median(times),
        "first_s": first,
        "repeats": float(reps),
    }


# --------------------------------------------------------------------------- peers


def load_peers() -> dict[str, Any]:
    mods: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            mods["neurokit2"] = importlib.import_module("neurokit2")
        except Exception as exc:  # noqa: BLE001 - any import failure means "skip"
            log(
                f"  neurokit2 missing ({type(exc).__name__}): {INSTALL['neurokit2']}  (or bash benchmarks/setup.sh)"
            )
        try:
            mods["hrv-analysis"] = importlib.import_module("hrvanalysis")
        except Exception as exc:  # noqa: BLE001
            log(
                f"  hrv-analysis missing ({type(exc).__name__}): {INSTALL['hrv-analysis']}  (or bash benchmarks/setup.sh)"
            )
        try:
            import matplotlib

            matplotlib.use("Agg")
            importlib.import_module("pyhrv")
            mods["pyhrv"] = (
                importlib.import_module("pyhrv.time_domain"),
                importlib.import_module("pyhrv.frequency_domain"),
                importlib.import_module("pyhrv.nonlinear"),
            )
        except Exception as exc:  # noqa: BLE001
            log(
                f"  pyhrv missing ({type(exc).__name__}): {INSTALL['pyhrv']}  (or bash benchmarks/setup.sh)"
            )
    return mods


def full_set(peer: str, mods: dict[str, Any]) -> Callable[[FloatArray], object]:
    """Time + frequency + Poincaré metrics of one series, each peer's own functions."""
    if peer == "ours":
        return lambda rr: (time_domain(rr), frequency_domain(rr), poincare(rr))
    if peer == "neurokit2":
        nk = mods["neurokit2"]
        nonlinear = sys.modules["neurokit2.hrv.hrv_nonlinear"]

        def run_nk(rr: FloatArray) -> object:
            peaks = nk.intervals_to_peaks(rr, sampling_rate=1000)
            return (
                nk.hrv_time(peaks, sampling_rate=1000),
                nk.hrv_frequency(peaks, sampling_rate=1000, normalize=False),
                nonlinear._hrv_nonlinear_poincare(
                    rr, out={}
                ),  # hrv_nonlinear's SD1/SD2 part
            )

        return run_nk
    if peer == "hrv-analysis":
        ha = mods["hrv-analysis"]

        def run_ha(rr: FloatArray) -> object:
            nn = rr.tolist()
            return (
                ha.get_time_domain_features(nn),
                ha.get_frequency_domain_features(nn, interpolation_method="cubic"),
                ha.get_poincare_plot_features(nn),
            )

        return run_ha
    td, fd, nl = mods["pyhrv"]

    def run_pyhrv(rr: FloatArray) -> object:
        # the time-domain functions matching our set (pyhrv.time_domain.time_domain adds
        # histogram-based geometric metrics, ~40 ms, which we do not compute)
        return (
            td.nni_parameters(nni=rr),
            td.hr_parameters(nni=rr),
            td.sdnn(nni=rr),
            td.rmssd(nni=rr),
            td.nn50(nni=rr),
            fd.welch_psd(nni=rr, show=False, mode="dev"),  # "dev": no figure
            nl.poincare(nni=rr, show=False, mode="dev"),
        )

    return run_pyhrv


def live_window(peer: str, mods: dict[str, Any]) -> Callable[[FloatArray], object]:
    """RMSSD + HF power of one window, computed afresh."""
    if peer == "ours-batch":
        return lambda rr: (time_domain(rr)["rmssd_ms"], frequency_domain(rr)["hf_ms2"])
    if peer == "neurokit2":
        nk = mods["neurokit2"]

        def run_nk(rr: FloatArray) -> object:
            peaks = nk.intervals_to_peaks(rr, sampling_rate=1000)
            return (
                nk.hrv_time(peaks, sampling_rate=1000)["HRV_RMSSD"],
                nk.hrv_frequency(peaks, sampling_rate=1000, normalize=False)["HRV_HF"],
            )

        return run_nk
    if peer == "hrv-analysis":
        ha = mods["hrv-analysis"]

        def run_ha(rr: FloatArray) -> object:
            nn = rr.tolist()
            return (
                ha.get_time_domain_features(nn)["rmssd"],
                ha.get_frequency_domain_features(nn, interpolation_method="cubic")[
                    "hf"
                ],
            )

        return run_ha
    td, fd, _ = mods["pyhrv"]
    return lambda rr: (
        td.rmssd(nni=rr)["rmssd"],
        fd.welch_psd(nni=rr, show=False, mode="dev")[0]["fft_abs"][2],
    )


# --------------------------------------------------------------------------- workloads


def load(data: Path, name: str, count: int | None = None) -> FloatArray:
    rr = np.loadtxt(data / name, dtype=np.float64)
    return rr if count is None else rr[:count]


def workload_full(
    label: str, rr: FloatArray, mods: dict[str, Any], budget_s: float
) -> dict[str, Any]:
    res: dict[str, Any] = {"beats": int(rr.size)}
    for peer in ("ours", *PEERS):
        if peer != "ours" and peer not in mods:
            continue
        log(f"  [{label}] {peer} ...")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn = full_set(peer, mods)
            res[peer] = median_time(
                functools.partial(fn, rr),
                budget_s=budget_s,
                max_rep=50 if rr.size < 10_000 else 15,
            )
        log(
            f"  [{label}] {peer}: {res[peer]['median_s'] * 1e3:.3f} ms (median of {int(res[peer]['repeats'])})"
        )
    return res


_MEM_SCRIPT = r"""
import os, sys, json, tracemalloc
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"
sys.path.insert(0, sys.argv[1])
def hwm_mb():  # peak resident set of this process (VmHWM; ru_maxrss survives exec)
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024.0
import numpy as np
from biofeedback.hrv.frequency import frequency_domain
from biofeedback.hrv.poincare import poincare
from biofeedback.hrv.time_domain import time_domain
rr = np.loadtxt(sys.argv[2], dtype=np.float64)[: int(sys.argv[3])]
base = hwm_mb()
tracemalloc.start()
time_domain(rr); frequency_domain(rr); poincare(rr)
peak = tracemalloc.get_traced_memory()[1] / 2**20
tracemalloc.stop()
print(json.dumps({"maxrss_mb": hwm_mb(), "baseline_rss_mb": base, "tracemalloc_peak_mb": peak}))
"""


def memory_of_ours(data: Path, count: int) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEM_SCRIPT,
            str(ROOT),
            str(data / "nsr2db_nsr001.txt"),
            str(count),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def windows_of(rr: FloatArray) -> list[tuple[int, int]]:
    """(start, stop) of each full 60 s window, one per beat once the clock passes 60 s."""
    s = SlidingHRV(WINDOW_S)
    out = []
    for i, v in enumerate(rr.tolist()):
        s.update(v)
        if s.t_s >= WINDOW_S:
            out.append((i + 1 - s.n_beats, i + 1))
    return out


def ours_live(rr: FloatArray) -> Callable[[], object]:
    values = rr.tolist()

    def run() -> object:
        s = SlidingHRV(WINDOW_S)
        acc = 0.0
        for v in values:
            m = s.update(v)
            if s.t_s >= WINDOW_S:
                acc += m["rmssd_ms"] + m["hf_ms2"]  # type: ignore[operator]
        return acc

    return run


def update_times_us(rr: FloatArray) -> FloatArray:
    s = SlidingHRV(WINDOW_S)
    pc = time.perf_counter_ns
    out = np.empty(rr.size)
    for i, v in enumerate(rr.tolist()):
        t0 = pc()
        m = s.update(v)
        m["rmssd_ms"]
        m["hf_ms2"]
        out[i] = (pc() - t0) / 1000.0
    return out


def workload_live(
    rr: FloatArray, mods: dict[str, Any], strides: dict[str, int]
) -> dict[str, Any]:
    wins = windows_of(rr)
    res: dict[str, Any] = {"beats": int(rr.size), "windows": len(wins)}
    log(
        f"  [c] ours: SlidingHRV over {rr.size} beats, reading RMSSD + HF at {len(wins)} windows ..."
    )
    t = median_time(ours_live(rr), budget_s=2.0, min_rep=5, max_rep=20)
    res["ours"] = {
        **t,
        "per_window_s": t["median_s"] / len(wins),
        "first_per_window_s": t["first_s"] / len(wins),
    }
    log(
        f"  [c] ours: {t['median_s'] * 1e3:.1f} ms in all ({t['median_s'] / len(wins) * 1e6:.2f} µs per window; "
        f"first run {t['first_s'] * 1e3:.1f} ms)"
    )
    upd = update_times_us(rr[: min(rr.size, 10_000)])
    upd = update_times_us(rr)  # second pass: band factors built
    res["update_us"] = {
        "median": float(np.median(upd)),
        "p90": float(np.percentile(upd, 90)),
    }
    log(
        f"  [c] one update + RMSSD + HF read: median {res['update_us']['median']:.2f} µs, p90 {res['update_us']['p90']:.2f} µs"
    )
    for peer in ("ours-batch", *PEERS):
        if peer != "ours-batch" and peer not in mods:
            continue
        k = strides.get(peer, 1)
        sub = [rr[a:b] for a, b in wins[::k]]
        log(
            f"  [c] {peer}: every {k}th window ({len(sub)} windows), scaled to {len(wins)} ..."
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn = live_window(peer, mods)

            def run(
                f: Callable[[FloatArray], object] = fn, sub: list[FloatArray] = sub
            ) -> None:
                for w in sub:
                    f(w)

            t = median_time(run, budget_s=0.0, min_rep=3, max_rep=3)
        per = t["median_s"] / len(sub)
        res[peer] = {
            **t,
            "stride": k,
            "windows_run": len(sub),
            "per_window_s": per,
            "scaled_total_s": per * len(wins),
        }
        log(
            f"  [c] {peer}: {per * 1e3:.3f} ms per window, {per * len(wins):.2f} s for all windows (scaled)"
        )
    return res


def tolerance(data: Path) -> dict[str, Any]:
    """LF/HF of SlidingHRV vs frequency_domain of the same window, every window."""
    recs = {
        "pyhrv_nsrdb_60min": load(data, "pyhrv_nsrdb_60min.txt"),
        "polarh10_slow_breathing": load(data, "polarh10_slow_breathing.txt"),
        "rrhealthy_000 (first hour)": load(data, "rrhealthy_000.txt", 4038),
    }
    out: dict[str, Any] = {}
    all_err: dict[str, list[float]] = {"lf_ms2": [], "hf_ms2": []}
    for name, rr in recs.items():
        log(f"  [tolerance] {name}: {rr.size} windows ...")
        s = SlidingHRV(WINDOW_S)
        errs: dict[str, list[float]] = {"lf_ms2": [], "hf_ms2": []}
        for v in rr.tolist():
            m = s.update(v)
            if m["hf_ms2"] is None:
                continue
            fb = frequency_domain(s.window_rr_ms())
            for k, e in errs.items():
                got = m[k]
                assert got is not None
                e.append(abs(got - fb[k]) / fb[k])
        out[name] = {
            k: {
                "windows": len(e),
                "median": float(np.median(e)),
                "p90": float(np.percentile(e, 90)),
                "max": float(np.max(e)),
            }
            for k, e in errs.items()
        }
        for k, e in errs.items():
            all_err[k] += e
    out["all"] = {
        k: {
            "windows": len(e),
            "median": float(np.median(e)),
            "p90": float(np.percentile(e, 90)),
            "max": float(np.max(e)),
        }
        for k, e in all_err.items()
    }
    return out


def cli_help_time(repeats: int = 10) -> dict[str, float]:
    """Median wall time (s) of ``python -m biofeedback --help`` in a fresh interpreter.

    The whole start-up a user waits for: interpreter, the package and the CLI's parser
    (this repository's package, first on ``PYTHONPATH``).
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, "-m", "biofeedback", "--help"]
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # warm the caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeats": float(repeats)}


# --------------------------------------------------------------------------- report


def fmt_t(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def environment(mods: dict[str, Any]) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "when_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    import scipy  # type: ignore[import-untyped]

    env["scipy"] = scipy.__version__
    for peer, dist in (
        ("neurokit2", "neurokit2"),
        ("hrv-analysis", "hrv-analysis"),
        ("pyhrv", "pyhrv"),
    ):
        if peer in mods:
            from importlib.metadata import version

            env[peer] = version(dist)
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

        env["blas"] = [
            {
                k: i.get(k)
                for k in ("internal_api", "num_threads", "architecture", "version")
            }
            for i in threadpool_info()
        ]
    except ImportError:
        pass
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=ROOT / "tests" / "data",
        help="folder of the RR recordings (default: tests/data of this repository)",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks" / "results.json",
        help="results JSON",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats and larger peer strides (a smoke run)",
    )
    ap.add_argument(
        "--only",
        default="abc",
        help="workloads to run, e.g. 'c' (default: abc; the table needs all)",
    )
    args = ap.parse_args(argv)
    data: Path = args.data
    if not data.is_dir():
        log(f"no data folder at {data}: pass --data PATH (a folder holding the tests/data recordings)")
        return 2

    log("loading peers ...")
    mods = load_peers()
    budget = 0.5 if args.quick else 2.0
    strides = {"ours-batch": 1, "neurokit2": 20, "hrv-analysis": 4, "pyhrv": 4}
    if args.quick:
        strides = {k: v * 5 for k, v in strides.items()}
    results: dict[str, Any] = {"environment": environment(mods), "targets": TARGETS}

    if "b" in args.only:
        log("  [b] peak memory of ours (fresh subprocess) ...")
        memory = memory_of_ours(data, 100_000)
    if "a" in args.only:
        log("(a) full metric set, 5-minute window (pyhrv_nsrdb_5min) ...")
        results["a_5min"] = workload_full(
            "a", load(data, "pyhrv_nsrdb_5min.txt"), mods, budget
        )
    if "b" in args.only:
        log("(b) full metric set, 100,000 beats (nsr2db_nsr001) ...")
        big = load(data, "nsr2db_nsr001.txt", 100_000)
        results["b_100k"] = workload_full("b", big, mods, budget * 5)
        results["b_100k"]["ours_memory"] = memory
    if "c" in args.only:
        log(
            "(c) live: RMSSD + HF of a 60 s window, beat by beat over an hour (pyhrv_nsrdb_60min) ..."
        )
        results["c_live"] = workload_live(
            load(data, "pyhrv_nsrdb_60min.txt"), mods, strides
        )
        log(
            "streaming tolerance: SlidingHRV LF/HF vs frequency_domain on every window ..."
        )
        results["tolerance"] = tolerance(data)
    log("biofeedback --help, fresh interpreter, 10 runs ...")
    results["cli_help"] = cli_help_time()
    hlp = results["cli_help"]
    log(
        f"  {'PASS' if hlp['median_s'] < TARGETS['help_s'] else 'FAIL'}  biofeedback --help "
        f"{fmt_t(hlp['median_s'])} median < {TARGETS['help_s']:.1f} s"
    )
    if args.only != "abc":
        args.out.write_text(
            json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8"
        )
        log(f"partial run: results written to {args.out} (no table)")
        return 0

    # ---------------------------------------------------------------- table
    a, b, c = results["a_5min"], results["b_100k"], results["c_live"]
    cols = [p for p in PEERS if p in mods]
    log("")
    header = f"{'workload':<44} {'ours':>10} " + " ".join(
        f"{p + ' (×)':>22}" for p in cols
    )
    log(header)
    log("-" * len(header))

    def row(label: str, ours_s: float, peer_s: dict[str, float]) -> None:
        cells = []
        for p in cols:
            if p in peer_s:
                cells.append(
                    f"{fmt_t(peer_s[p]) + f' ({peer_s[p] / ours_s:.1f}×)':>22}"
                )
            else:
                cells.append(f"{'-':>22}")
        log(f"{label:<44} {fmt_t(ours_s):>10} " + " ".join(cells))

    row(
        "(a) time+freq+Poincaré, 5 min (337 beats)",
        a["ours"]["median_s"],
        {p: a[p]["median_s"] for p in cols},
    )
    row(
        "(b) time+freq+Poincaré, 100,000 beats",
        b["ours"]["median_s"],
        {p: b[p]["median_s"] for p in cols},
    )
    nw = c["windows"]
    row(
        f"(c) live RMSSD+HF, 60 s window, {nw} windows",
        c["ours"]["median_s"],
        {p: c[p]["scaled_total_s"] for p in cols},
    )
    row(
        "(c) same, per window",
        c["ours"]["per_window_s"],
        {p: c[p]["per_window_s"] for p in cols},
    )
    log("")
    log(
        f"(c) our own batch functions per window (time_domain + frequency_domain): {fmt_t(c['ours-batch']['per_window_s'])} "
        f"({c['ours-batch']['per_window_s'] / c['ours']['per_window_s']:.1f}× the streaming cost)"
    )
    log(
        "(c) peers run on every k-th window and scaled: "
        + ", ".join(f"{p} k={c[p]['stride']}" for p in cols)
    )
    log(
        f"(c) first run in this process (band factors built on the way): {fmt_t(c['ours']['first_s'])} "
        f"({c['ours']['first_per_window_s'] * 1e6:.1f} µs per window)"
    )
    mem = b["ours_memory"]
    log(
        f"(b) ours, peak memory: {mem['maxrss_mb']:.0f} MB max RSS (process, {mem['baseline_rss_mb']:.0f} MB after imports), "
        f"{mem['tracemalloc_peak_mb']:.1f} MB traced allocations"
    )
    log(
        f"biofeedback --help: {fmt_t(hlp['median_s'])} median of 10 fresh runs "
        f"({fmt_t(hlp['min_s'])} to {fmt_t(hlp['max_s'])})"
    )
    log("")
    log(
        "streaming LF/HF vs batch frequency_domain on the same windows (relative error):"
    )
    for name, v in results["tolerance"].items():
        log(
            f"  {name:<28} LF median {v['lf_ms2']['median'] * 100:.2f}% p90 {v['lf_ms2']['p90'] * 100:.2f}%   "
            f"HF median {v['hf_ms2']['median'] * 100:.2f}% p90 {v['hf_ms2']['p90'] * 100:.2f}%   ({v['hf_ms2']['windows']} windows)"
        )

    # ---------------------------------------------------------------- targets
    checks: list[tuple[str, bool]] = []
    upd = c["update_us"]["median"]
    checks.append(
        (
            f"streaming update + RMSSD + HF read, median {upd:.1f} µs < {TARGETS['update_median_us']:.0f} µs",
            upd < TARGETS["update_median_us"],
        )
    )
    per_us = c["ours"]["per_window_s"] * 1e6
    checks.append(
        (
            f"(c) ours {per_us:.1f} µs per window ≤ {TARGETS['live_per_beat_us']:.0f} µs",
            per_us <= TARGETS["live_per_beat_us"],
        )
    )
    if cols:
        fastest = min(cols, key=lambda p: c[p]["per_window_s"])
        ratio = c[fastest]["per_window_s"] / c["ours"]["per_window_s"]
        checks.append(
            (
                f"(c) {ratio:.0f}× faster than the fastest peer ({fastest}) ≥ {TARGETS['live_vs_fastest_peer']:.0f}×",
                ratio >= TARGETS["live_vs_fastest_peer"],
            )
        )
    if "hrv-analysis" in cols:
        checks.append(
            (
                f"(b) faster than hrv-analysis ({fmt_t(b['ours']['median_s'])} vs {fmt_t(b['hrv-analysis']['median_s'])})",
                b["ours"]["median_s"] < b["hrv-analysis"]["median_s"],
            )
        )
    # memory, both ways: the workload's own allocations (tracemalloc), and the whole
    # process's peak resident set, interpreter and numpy/scipy included (VmHWM)
    checks.append(
        (
            (
                f"(b) peak memory of the computation (traced) {mem['tracemalloc_peak_mb']:.0f} MB"
                f" < {TARGETS['big_peak_rss_mb']:.0f} MB"
            ),
            mem["tracemalloc_peak_mb"] < TARGETS["big_peak_rss_mb"],
        )
    )
    checks.append(
        (
            (
                f"(b) peak RSS of the whole process {mem['maxrss_mb']:.0f} MB"
                f" ({mem['baseline_rss_mb']:.0f} MB after imports) < {TARGETS['big_peak_rss_mb']:.0f} MB"
            ),
            mem["maxrss_mb"] < TARGETS["big_peak_rss_mb"],
        )
    )
    tol = results["tolerance"]["all"]
    for k in ("lf_ms2", "hf_ms2"):
        checks.append(
            (
                f"streaming {k[:2].upper()} median error {tol[k]['median'] * 100:.2f}% ≤ 5%, p90 {tol[k]['p90'] * 100:.2f}% ≤ 15%",
                tol[k]["median"] <= 0.05 and tol[k]["p90"] <= 0.15,
            )
        )
    checks.append(
        (
            f"biofeedback --help {fmt_t(hlp['median_s'])} < {TARGETS['help_s']:.1f} s",
            hlp["median_s"] < TARGETS["help_s"],
        )
    )
    log("")
    log("targets:")
    for text, ok in checks:
        log(f"  {'PASS' if ok else 'FAIL'}  {text}")
    results["checks"] = [{"target": t, "pass": ok} for t, ok in checks]
    args.out.write_text(
        json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8"
    )
    log(f"\nresults written to {args.out}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
