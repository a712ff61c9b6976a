"""Calm lines: the defaults, the person's own file, and clear errors naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from biofeedback.display.calm import (
    DEFAULT_CALM_LINES,
    MAX_CALM_LINE_CHARS,
    CalmLines,
    parse_calm_lines,
    read_calm_lines,
)
from biofeedback.errors import FileFormatError, InvalidInputError


def test_the_defaults_are_a_dozen_short_gentle_lines() -> None:
    assert len(DEFAULT_CALM_LINES) == 12 and len(set(DEFAULT_CALM_LINES)) == 12
    assert DEFAULT_CALM_LINES[:2] == ("It's going to be okay.", "You are safe to move slowly.")
    assert all(len(line) <= MAX_CALM_LINE_CHARS for line in DEFAULT_CALM_LINES)
    assert parse_calm_lines("\n".join(DEFAULT_CALM_LINES)) == DEFAULT_CALM_LINES


def test_a_new_line_every_three_breaths_each_line_before_any_repeats() -> None:
    calm = CalmLines()
    shown = [calm.line_for(i) for i in range(3 * 12 + 3)]
    assert shown[:3] == [DEFAULT_CALM_LINES[0]] * 3 and shown[3] == DEFAULT_CALM_LINES[1]
    assert shown[0:36:3] == list(DEFAULT_CALM_LINES)
    assert shown[36] == DEFAULT_CALM_LINES[0]
    # a function of the breath index alone: a replay (a new chooser) shows the same lines
    assert [CalmLines().line_for(i) for i in (40, 7, 7, 0)] == [calm.line_for(i) for i in (40, 7, 7, 0)]
    assert CalmLines(["a", "b"], breaths_per_line=1).line_for(5) == "b"


def test_the_persons_own_file_blank_and_comment_lines_skipped(tmp_path: Path) -> None:
    f = tmp_path / "mine.txt"
    f.write_text("\ufeff# my words\n\n  Mein Rücken darf ruhen.  \n# later\nSlow is good.\r\n", encoding="utf-8")
    assert read_calm_lines(f) == ("Mein Rücken darf ruhen.", "Slow is good.")
    calm = CalmLines.from_file(f)
    assert [calm.line_for(i) for i in (0, 3, 6)] == ["Mein Rücken darf ruhen.", "Slow is good.",
                                                     "Mein Rücken darf ruhen."]
    assert CalmLines.from_file(None).lines == DEFAULT_CALM_LINES


def test_a_line_too_long_is_refused_with_its_line_number(tmp_path: Path) -> None:
    f = tmp_path / "long.txt"
    f.write_text("Easy.\n# fine\n" + "x" * (MAX_CALM_LINE_CHARS + 1) + "\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match=rf"long.txt:3: the line has 61 characters; a calm line may have "
                                              rf"at most {MAX_CALM_LINE_CHARS}"):
        read_calm_lines(f)
    assert parse_calm_lines("y" * MAX_CALM_LINE_CHARS) == ("y" * MAX_CALM_LINE_CHARS,)


def test_control_characters_are_refused_with_the_line_number() -> None:
    with pytest.raises(FileFormatError, match=r"calm lines:2: .*control character"):
        parse_calm_lines("fine\nnot \x1b[31mred\n")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n   \n"])
def test_a_file_without_lines_is_refused(tmp_path: Path, text: str) -> None:
    f = tmp_path / "empty.txt"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(FileFormatError, match=r"empty.txt: no calm lines in it"):
        read_calm_lines(f)


def test_missing_and_not_utf8_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"nope.txt: no such file"):
        read_calm_lines(tmp_path / "nope.txt")
    f = tmp_path / "latin1.txt"
    f.write_bytes("Ruhig atmen.\nMein Rücken.\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match=r"latin1.txt:2: not UTF-8 text; save the file as UTF-8"):
        read_calm_lines(f)
    assert issubclass(FileFormatError, ValueError)


def test_bad_arguments() -> None:
    with pytest.raises(InvalidInputError):
        CalmLines([])
    with pytest.raises(InvalidInputError):
        CalmLines(breaths_per_line=0)
    with pytest.raises(InvalidInputError):
        CalmLines().line_for(-1)
