"""Every notebook runs top to bottom on the shipped sample data."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(path.parent)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    namespace: dict[str, object] = {"__name__": "__main__"}
    try:
        for i, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
            code = compile("".join(cell["source"]), f"{path.name}[code cell {i}]", "exec")
            exec(code, namespace)  # noqa: S102 - running our own notebooks is the point of this test
    finally:
        plt.close("all")
