"""``biofeedback calm-lines``: the person's own lines kept in the data folder (owner-only),
refused with the line number when a line is unusable (nothing kept then), shown, reset, and
the lines the prompt takes (:meth:`CalmLines.for_person`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from biofeedback.cli import main
from biofeedback.display.calm import DEFAULT_CALM_LINES, CalmLines, forget_calm_lines, store_calm_lines
from biofeedback.errors import FileFormatError
from biofeedback.paths import CALM_LINES_FILE, calm_lines_path

MINE = "# my words\n\nMy back is allowed to rest.\n  Slow is good.  \nIt's going to be okay, love.\n"


@pytest.fixture
def mine(tmp_path: Path) -> Path:
    f = tmp_path / "mine.txt"
    f.write_text(MINE, encoding="utf-8")
    return f


def test_kept_lines_are_the_prompts_lines_owner_only(mine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = Path(os.environ["BIOFEEDBACK_HOME"])  # conftest: a folder of this test's own
    assert CalmLines.for_person().lines == DEFAULT_CALM_LINES  # nothing kept yet
    assert main(["calm-lines", str(mine)]) == 0
    kept = home / CALM_LINES_FILE
    assert calm_lines_path() == kept and kept.is_file()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert "Kept your 3 calm lines in" in capsys.readouterr().out
    calm = CalmLines.for_person()
    assert calm.lines == ("My back is allowed to rest.", "Slow is good.", "It's going to be okay, love.")
    assert [calm.line_for(b) for b in (0, 3, 6, 9)] == [*calm.lines, calm.lines[0]]
    assert CalmLines.for_person(home).lines == calm.lines  # the data folder given (train --data-dir)
    mine.unlink()  # the kept copy does not need the original
    assert CalmLines.for_person().lines == calm.lines

    assert main(["calm-lines", "--show"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown == [f"Your own calm lines, from {kept}:", "  My back is allowed to rest.", "  Slow is good.",
                     "  It's going to be okay, love."]

    assert main(["calm-lines", "--reset"]) == 0
    assert not kept.exists() and CalmLines.for_person().lines == DEFAULT_CALM_LINES
    assert f"({kept} removed)" in capsys.readouterr().out
    assert main(["calm-lines"]) == 0  # no FILE: the lines in use
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("The default calm lines") and out[1:] == [f"  {line}" for line in DEFAULT_CALM_LINES]
    assert forget_calm_lines() is None


def test_a_bad_line_is_refused_with_its_number_and_nothing_is_kept(mine: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calm-lines", str(mine)]) == 0
    kept = calm_lines_path()
    before = kept.read_bytes()
    bad = tmp_path / "bad.txt"
    bad.write_text("Easy now.\n# fine\n\n" + "y" * 61 + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["calm-lines", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"biofeedback: error: {bad}:4: the line has 61 characters; a calm line may have at most 60: "
                   "shorten it or split it over two lines")
    bad.write_bytes(b"fine\nalso fine\n\xff\xfe broken\n")
    assert main(["calm-lines", str(bad)]) == 1
    assert capsys.readouterr().err.strip() == f"biofeedback: error: {bad}:3: not UTF-8 text; save the file as UTF-8"
    assert main(["calm-lines", str(tmp_path / "none.txt")]) == 1
    assert "none.txt: no such file" in capsys.readouterr().err
    assert kept.read_bytes() == before  # the lines kept before stay as they were
    assert sorted(p.name for p in kept.parent.iterdir()) == [CALM_LINES_FILE]  # no half-written file left


def test_a_kept_file_edited_into_a_bad_one_names_its_line(mine: Path) -> None:
    path, _ = store_calm_lines(mine)
    path.write_text(path.read_text(encoding="utf-8") + "tab\there\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match=rf"{CALM_LINES_FILE}:6: the line holds a control character"):
        CalmLines.for_person()


def test_options_that_do_not_go_together_and_a_missing_data_folder(mine: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["calm-lines", str(mine), "--reset"])
    assert exc.value.code == 2
    assert "give a FILE to keep, or --show, or --reset; not both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["calm-lines", "--show", "--reset"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["calm-lines", str(mine), "--data-dir", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"biofeedback: error: the data folder {tmp_path / 'nowhere'} is not there; create it, or give " \
                  "another --data-dir"
    other = tmp_path / "other"
    other.mkdir()
    assert main(["calm-lines", str(mine), "--data-dir", str(other)]) == 0
    assert (other / CALM_LINES_FILE).is_file() and not calm_lines_path().exists()
    assert CalmLines.for_person(other).lines[0] == "My back is allowed to rest."
