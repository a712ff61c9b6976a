"""benchmarks/coach.py: seeds pooled, the same figures in any number of processes, and the
README's tables read off a results file."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from _benchmarks import benchmark_module

from biofeedback.evaluation import run_session, summarise
from biofeedback.physiology import sample_people
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


def test_a_file_that_is_not_a_results_file_is_one_line_and_exit_2(
        bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"people": 40}')
    assert bench.main(["--tables", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad}: not a results file of this benchmark")
    assert bench.main(["--seed", "1,x"]) == 2
    assert "--seed must be an integer or comma-separated integers" in capsys.readouterr().err
