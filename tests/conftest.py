"""Fixtures every test file shares."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _not_the_first_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private config folder in which the 'not a medical device' notice was already shown.

    Keeps each test's output free of the first-run notice and the user's own config and
    data folder untouched; a test of the first run points XDG_CONFIG_HOME elsewhere itself.
    """
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("BIOFEEDBACK_HOME", str(tmp_path / "data"))  # never the user's own data folder
    (tmp_path / "config" / "biofeedback").mkdir(parents=True)
    (tmp_path / "config" / "biofeedback" / "first-run-notice-shown").touch()

