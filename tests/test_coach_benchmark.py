"""benchmarks/coach.py: seeds pooled, the same figures in any number of processes, and the
README's tables read off a results file."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from _benchmarks import benchmark_module

from biofeedback.evaluation import paired_drop, run_session, summarise
from biofeedback.physiology import DEFAULT_RANGES, VARIANTS, sample_people
from biofeedback.protocols import FixedPace


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    with benchmark_module("coach") as module:
        yield module


def test_seeds_are_pooled_and_the_figures_do_not_depend_on_the_processes(bench: ModuleType) -> None:
    names = ["fixed 6", "coach"]
    one = list(bench.run_variants(["default"], 2, [5, 6], 2.0, names, jobs=1))
    two = list(bench.run_variants(["default"], 2, [5, 6], 2.0, names, jobs=2))
    assert [v for v, _, _ in one] == ["default"]
    runs_one, runs_two = one[0][1], two[0][1]
    assert runs_one == runs_two
    # the 2 people of seed 5, then the 2 of seed 6, each as run alone
    alone = [run_session(p, FixedPace(6.0), minutes=2.0) for seed in (5, 6) for p in sample_people(2, seed, "default")]
    assert runs_one["fixed 6"] == alone
    assert [r.resonance_bpm for r in runs_one["coach"]] == [r.resonance_bpm for r in alone]


def test_the_tables_are_the_summaries_of_a_results_file(bench: ModuleType, tmp_path: Path) -> None:
    results = [run_session(p, FixedPace(6.0), minutes=2.0) for p in sample_people(3, 7, "default")]
    s = summarise(results)
    data = {"variants": {"default": {"summaries": {"fixed 6": dataclasses.asdict(s)}},
                         "narrow": {"summaries": {"fixed 6": dataclasses.asdict(dataclasses.replace(
                             s, median_time_near_min=float("inf")))}}}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    tables = bench.markdown_tables(json.loads(path.read_text())).split("\n\n")
    assert len(tables) == 2 * len(bench.TABLES)  # a title and a table for each target
    swing = tables[1].splitlines()
    assert swing[0] == "| variant | fixed 6 |"
    assert swing[2] == f"| default | {100 * s.good_swing_share:.0f} |"
    error = tables[3].splitlines()
    assert error[2] == f"| default | {s.median_abs_error_bpm:.2f} |"
    assert tables[7].splitlines()[3] == "| narrow | never |"
    # with the person-by-person drops of a variant, one more table, of that variant alone
    people = sample_people(3, 7, "default")
    stepped = [run_session(p, FixedPace(5.5), minutes=2.0) for p in people]
    pair = dataclasses.asdict(paired_drop(results, stepped))
    data["variants"]["default"]["paired_drop"] = json.loads(json.dumps(pair))  # as a file holds it: lists
    tables = bench.markdown_tables(data).split("\n\n")
    assert len(tables) == 2 * len(bench.TABLES) + 2 and tables[-2] == f"**{bench.PAIRED_TITLE}**"
    low, high = pair["ci90_pct"]
    assert tables[-1].splitlines()[2:] == [
        f"| default | {pair['median_diff_pct']:+.2f} | {low:+.2f} to {high:+.2f} | {100 * pair['share_at_least']:.0f}% |"]


def test_a_file_that_is_not_a_results_file_is_one_line_and_exit_2(
        bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"people": 40}')
    assert bench.main(["--tables", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad}: not a results file of this benchmark")
    assert bench.main(["--seed", "1,x"]) == 2
    assert "--seed must be an integer or comma-separated integers" in capsys.readouterr().err


def test_the_family_oracle_finds_the_peak_of_any_curve_of_the_model(bench: ModuleType) -> None:
    # the swings of the truth curve itself, two breaths at each pace of the sweep: the fit of the
    # model's family must land on the resonance (the 0.01/min grid, the delay's bisection aside)
    pace = np.repeat(bench.SWEEP_BPM, 2)
    for variant in ("default", "narrow", "broad", "long_delay", "short_delay"):
        for p in sample_people(2, 3, variant):
            swing = np.array([p.swing_bpm(float(x)) for x in pace])
            assert bench.family_peak(pace, swing, np.ones(pace.size)) == pytest.approx(p.resonance_bpm, abs=0.02)
    weights = np.zeros(pace.size)
    weights[:5] = 1.0  # breaths without weight do not count: 5 weighed are too few, 6 are enough
    assert bench.family_peak(pace, swing, weights) is None
    weights[5] = 1.0
    assert bench.family_peak(pace, swing, weights) is not None


def test_the_family_oracles_bounds_hold_every_person_of_every_variant(bench: ModuleType) -> None:
    # "knows the family" only if every person the benchmark can draw is a member. The ranges'
    # corners bound the shape parameters (the scaled gain grows with the gain and the resonance and
    # falls with the vascular time constant); the loop delay is solved per person, so people are drawn
    w12 = 2.0 * math.pi * bench.FAMILY_NORM["resonance_bpm"] / 60.0

    def scaled(gain: float, res: float, tau: float) -> float:
        return gain * math.hypot(1.0, 2.0 * math.pi * res / 60.0 * tau) / math.hypot(1.0, w12 * tau)

    for name, variant in VARIANTS.items():
        r = {**DEFAULT_RANGES, **variant.ranges}
        lowest = scaled(r["loop_gain"][0], r["resonance_bpm"][0], r["vascular_tau_s"][1])
        highest = scaled(r["loop_gain"][1], r["resonance_bpm"][1], r["vascular_tau_s"][0])
        for k, field in enumerate(bench.FAMILY_FIELDS, start=1):
            lo, hi = (lowest, highest) if field == "loop_gain" else r[field]
            assert bench.FAMILY_LO[k] <= lo and hi <= bench.FAMILY_HI[k], (name, field)
        for p in sample_people(6, 11, name):
            q = p.params
            theta = np.array([p.loop_delay_s, scaled(q.loop_gain, q.resonance_bpm, q.vascular_tau_s),
                              q.vascular_tau_s, q.vagal_corner_bpm, q.depth_exponent])
            assert bench.FAMILY_LO[0] + 0.5 <= theta[0] <= bench.FAMILY_HI[0] - 2.0, (name, theta)
            # and the oracle's curve at those parameters is the person's, up to its height
            grid = np.array([4.0, 5.0, 6.0, 7.0])
            ratio = np.array([p.swing_bpm(float(x)) for x in grid]) / bench._family_shape(grid, theta)
            assert np.ptp(ratio) < 1e-9 * ratio.mean()


def test_the_family_oracle_runs_as_a_reference(bench: ModuleType) -> None:
    # the sweep, then the family fit held from minute 3 to the end
    (person,) = sample_people(1, 4, "default")
    sweep = bench.CONTROLLERS["oracle family 14"](person)
    sweep.scan_s = 180.0
    r = run_session(person, sweep, minutes=4.0)
    assert sweep.family and sweep.person is None  # it is not told the person
    assert r.estimate_bpm == r.final_pace_bpm and 4.0 <= r.final_pace_bpm <= 7.5
    held = [d for d in sweep.decisions if d.stage == "hold"]
    assert held and held[0].t_s >= 180.0 and {d.pace_bpm for d in held} == {r.final_pace_bpm}
