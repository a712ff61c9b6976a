"""The data folder: BIOFEEDBACK_HOME or the platform's user data folder, private; new names in it."""

from __future__ import annotations

import datetime as dt
import stat
import sys
from pathlib import Path

import pytest

from biofeedback.errors import FileFormatError, StoreError
from biofeedback.paths import HOME_ENV, STORE_FILE, data_dir, existing_store_path, new_file


def test_biofeedback_home_is_the_data_folder_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "a" / "b"))
    folder = data_dir()
    assert folder == tmp_path / "a" / "b" and folder.is_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_folder_that_is_there_keeps_its_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path.chmod(0o755)  # the user's own choice: not ours to change
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    assert data_dir() == tmp_path and stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_DATA_HOME is the Linux convention")
def test_without_biofeedback_home_the_platform_user_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert data_dir() == tmp_path / "share" / "biofeedback"


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(HOME_ENV, str(blocker / "data"))
    with pytest.raises(FileFormatError, match=f"cannot create the data folder {blocker / 'data'}: .*; set {HOME_ENV}"):
        data_dir()


def test_new_names_are_time_stamped_and_never_taken(tmp_path: Path) -> None:
    now = dt.datetime(2026, 12, 2, 7, 5, 9)
    first = new_file("demo", ".csv", folder=tmp_path, now=now)
    assert first == tmp_path / "demo-20261202-070509.csv" and not first.exists()
    first.write_text("")
    second = new_file("demo", "csv", folder=tmp_path, now=now)
    assert second == tmp_path / "demo-20261202-070509-2.csv"


def test_a_store_to_read_must_be_there_and_is_never_made(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="^no session store at .*'biofeedback train' or 'biofeedback import'"):
        existing_store_path(tmp_path)
    assert not (tmp_path / STORE_FILE).exists()  # nothing was created
    (tmp_path / STORE_FILE).write_bytes(b"")
    assert existing_store_path(tmp_path) == tmp_path / STORE_FILE
