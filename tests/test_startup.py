"""The command line starts light and ends quietly, everywhere bleak runs.

Each test runs a fresh interpreter (``sys.modules`` of this process already holds numpy and
the rest): what ``--help`` imports, the CLI without dbus-fast (macOS, Windows), what
importing the plots does to matplotlib, and a reader that closes the pipe early.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _data import ROOT, SAMPLE_DATA

from biofeedback.cli import build_parser

HEAVY = ("numpy", "scipy", "matplotlib", "bleak")


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -c code args...`` with this repository's package first on the path."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


# prints the modules loaded by ``python -m biofeedback ARGS`` as JSON on its last stdout line
MODULES_AFTER = """\
import json, runpy, sys
sys.argv = ["biofeedback", *sys.argv[1:]]
try:
    runpy.run_module("biofeedback", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
print()
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def commands() -> list[str]:
    """Every subcommand the parser knows (a new one is checked without editing this file)."""
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(sub.choices)


@pytest.mark.parametrize("argv", [["--help"], *([c, "--help"] for c in commands())], ids=" ".join)
def test_help_imports_no_numpy_scipy_matplotlib_or_bleak(argv: list[str]) -> None:
    out = run_python(MODULES_AFTER, *argv)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["code"] == 0
    assert "usage: biofeedback" in out.stdout
    heavy = sorted(m for m in result["modules"] if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_the_package_names_load_on_first_use() -> None:
    code = (
        "import sys, biofeedback\n"
        "before = sorted(m for m in sys.modules if m.split('.')[0] == 'numpy')\n"
        "from biofeedback import Beat, BeatClock, InvalidInputError, SensorContact\n"
        "import biofeedback.beats, biofeedback.errors, biofeedback.hrm\n"
        "assert Beat is biofeedback.beats.Beat and BeatClock is biofeedback.beats.BeatClock\n"
        "assert InvalidInputError is biofeedback.errors.InvalidInputError\n"
        "assert SensorContact is biofeedback.hrm.SensorContact\n"
        "missing = [n for n in biofeedback.__all__ if not hasattr(biofeedback, n)]\n"
        "try:\n"
        "    biofeedback.NoSuchName\n"
        "except AttributeError as exc:\n"
        "    err = str(exc)\n"
        "print(before, missing, err)\n"
    )
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] [] module 'biofeedback' has no attribute 'NoSuchName'"


# runs the CLI with dbus-fast unimportable, as on macOS and Windows
WITHOUT_DBUS_FAST = """\
import sys
sys.modules["dbus_fast"] = None  # any import of it raises ImportError
from biofeedback.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_without_dbus_fast_help_works() -> None:
    out = run_python(WITHOUT_DBUS_FAST, "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: biofeedback")
    assert out.stderr == ""


@pytest.mark.parametrize("argv", [["scan", "--timeout", "1"], ["record", "--timeout", "1", "--minutes", "1"]],
                         ids=" ".join)
def test_without_dbus_fast_scan_and_record_end_in_one_line(argv: list[str]) -> None:
    out = run_python(WITHOUT_DBUS_FAST, *argv)
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert out.returncode == 2
    if sys.platform == "linux":  # bleak's BlueZ backend needs dbus-fast; elsewhere bleak needs none
        assert lines[0] == ("biofeedback: error: bleak cannot use Bluetooth here: the Python package "
                            "'dbus-fast' it needs is not installed. Install it with `pip install dbus-fast`.")


def test_without_dbus_fast_the_emulated_strap_is_one_line() -> None:
    out = run_python(WITHOUT_DBUS_FAST, "record", "--emulate", str(SAMPLE_DATA / "polarh10_slow_breathing.txt"))
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        ("biofeedback: error: the emulated strap cannot load dbus_fast: it needs the Python package dbus-fast "
         "and Linux (`pip install dbus-fast`)")
    ]


def test_importing_the_plots_leaves_the_backend_alone_and_saving_works(tmp_path: Path) -> None:
    png = tmp_path / "s.png"
    code = (
        "import sys, matplotlib\n"
        "matplotlib.use('svg')  # the process's choice, e.g. a window's backend\n"
        "import biofeedback.plots as plots\n"
        "from biofeedback.analysis import summarise\n"
        "from biofeedback.formats import read_rr_file\n"
        "after_import = matplotlib.get_backend()\n"
        "plots.save_figure(plots.session_figure(summarise(read_rr_file(sys.argv[1]))), sys.argv[2])\n"
        "print(after_import, matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)\n"
    )
    out = run_python(code, str(SAMPLE_DATA / "pyhrv_nsrdb_5min.txt"), str(png))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["svg", "svg", "False"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_mode & 0o777 == 0o600


def test_a_closed_pipe_ends_show_quietly() -> None:
    # `biofeedback show FILE | head -n 1`, with head gone before the first line: every write fails
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        proc = subprocess.run([sys.executable, "-m", "biofeedback", "show", str(SAMPLE_DATA / "pyhrv_nsrdb_5min.txt")],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, timeout=60, check=False)
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 0


def test_a_reader_that_takes_one_line_ends_show_quietly() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with subprocess.Popen([sys.executable, "-m", "biofeedback", "show", str(SAMPLE_DATA / "pyhrv_nsrdb_5min.txt")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # what head -n 1 does after its line
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 0
    assert first.startswith("HRV of ")
    assert err == ""
