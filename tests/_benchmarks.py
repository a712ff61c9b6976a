"""Importing a script of benchmarks/ in a test, and leaving no trace of it afterwards."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@contextlib.contextmanager
def benchmark_module(name: str) -> Iterator[ModuleType]:
    """``benchmarks/NAME.py`` imported by name, with benchmarks/ on the path while it is in use.

    By name, so that worker processes find its functions however they start (fork, spawn or
    forkserver). Afterwards the path is as it was, and every module imported from benchmarks/
    (the script and any script it imports) is forgotten.
    """
    folder = str(BENCHMARKS)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        yield importlib.import_module(name)
    finally:
        if added:
            sys.path.remove(folder)
        for mod_name, mod in list(sys.modules.items()):
            if (getattr(mod, "__file__", None) or "").startswith(folder + "/"):
                del sys.modules[mod_name]
