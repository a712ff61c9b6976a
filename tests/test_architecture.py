"""The shape of the package: the core stays pure and type-checks under mypy --strict."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import biofeedback

PKG = Path(biofeedback.__file__).resolve().parent
CORE = ["hrm.py", "beats.py", "notifications.py", "_validate.py", "errors.py", "artifacts.py", "analysis.py",
        "sound.py", "hrv"]
FORBIDDEN = {"bleak", "asyncio", "sqlite3", "matplotlib", "dbus_fast", "biofeedback.sources",
             "biofeedback.cli", "biofeedback.session", "biofeedback.store", "biofeedback.emulator"}


def core_files() -> list[Path]:
    files: list[Path] = []
    for name in CORE:
        p = PKG / name
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.exists() else []
    return files


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(PKG)))
def test_core_never_imports_the_shell(path: Path) -> None:
    bad = {m for m in imported_modules(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_importing_the_core_loads_no_shell_module() -> None:
    code = (
        "import sys, biofeedback, biofeedback.hrm, biofeedback.beats, biofeedback.hrv\n"
        "bad = [m for m in ('bleak', 'asyncio', 'sqlite3', 'matplotlib', 'dbus_fast') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_mypy_strict_passes_on_the_core() -> None:
    files = [str(p) for p in core_files()]
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", *files],
                         capture_output=True, text=True, cwd=PKG.parent, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
