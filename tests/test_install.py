"""The package installs anywhere: a wheel in a fresh virtual environment runs the demo (a short
session with the simulated person, stored in the user's data folder, and its plot).

Also: the recordings kept in several places (``sample_data/`` where users look, the package
data the installed demo plays, ``tests/data/`` the tests read) are the same files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from _data import DATA, PACKAGE_DATA, ROOT, SAMPLE_DATA

from biofeedback.cli import DEMO_RR_FILE

# folders of a working checkout that are not part of the source
NOT_SOURCE = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis",
                                    ".venv", "venv", "out")


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLE_DATA.iterdir() if p.suffix == ".txt"))
def test_each_copy_of_a_recording_is_the_same_file(name: str) -> None:
    copies = [folder / name for folder in (SAMPLE_DATA, PACKAGE_DATA, DATA) if (folder / name).exists()]
    assert SAMPLE_DATA / name in copies and DATA / name in copies
    assert len({p.read_bytes() for p in copies}) == 1, copies


def test_the_package_ships_the_demo_session_with_its_licence() -> None:
    assert (PACKAGE_DATA / DEMO_RR_FILE).read_bytes() == (SAMPLE_DATA / DEMO_RR_FILE).read_bytes()
    notice = f"LICENSE-{Path(DEMO_RR_FILE).stem}.txt"
    assert (PACKAGE_DATA / notice).read_bytes() == (SAMPLE_DATA / notice).read_bytes()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel`` of a copy of the source tree (so no stale build/ folder leaks into it)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(src)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    (path,) = (tmp / "dist").glob("biofeedback-*.whl")
    return path


def test_the_wheel_holds_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"biofeedback/data/{DEMO_RR_FILE}", "biofeedback/data/LICENSE-polarh10_slow_breathing.txt",
            "biofeedback/py.typed"} <= names
    assert not any(n.startswith(("tests/", "sample_data/", "benchmarks/")) for n in names)


def test_a_wheel_in_a_fresh_venv_runs_the_demo_from_any_folder(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # the system's numpy, scipy, matplotlib and bleak are reused; biofeedback must come from the wheel
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    # ... and so are those of the environment running the tests, when that is itself a venv (a .pth file's
    # paths come after the new venv's own site-packages, and the .pth files found there are not run, so
    # an editable biofeedback installed there does not leak in)
    new_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    outer = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    Path(new_site, "_outer_environment.pth").write_text("".join(f"{p}\n" for p in outer))
    home = tmp_path / "home"
    elsewhere = tmp_path / "somewhere else"
    elsewhere.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "BIOFEEDBACK_HOME") and not k.startswith("XDG_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_STATE_HOME=str(home / ".local/state"), XDG_CACHE_HOME=str(home / ".cache"))
    # --force-reinstall: a biofeedback the system already has (an editable checkout) must not count
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--force-reinstall",
                    str(wheel)], cwd=elsewhere, env=env, check=True, timeout=120)

    where = subprocess.run([str(python), "-c", "import biofeedback; print(biofeedback.__file__)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where

    demo = subprocess.run([str(bin_dir / "biofeedback"), "demo", "--speed", "max", "--minutes", "3"], cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Traceback" not in demo.stderr
    assert "not a medical device" in demo.stderr  # the first run says so
    data = home / ".local/share/biofeedback"
    assert demo.stdout.startswith("The demo: 3 minutes with a simulated person (seed 1, no strap)")
    assert f"Kept as session 1 in {data / 'sessions.db'}." in demo.stdout
    # it wrote into the user's data folder (the store and the plot), and nothing where it ran
    (png,) = data.glob("demo-*.png")
    assert demo.stdout.rstrip().endswith(f"Plot written to {png}")
    assert (data / "sessions.db").exists() and list(elsewhere.iterdir()) == []
