"""The README runs as written: every Python block executes, every command line parses."""

from __future__ import annotations

import re
import shlex

import pytest
from _data import ROOT

from biofeedback.cli import build_parser

README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[tuple[int, str]]:
    """(line number, code) of each fenced block of that language."""
    return [(README.count("\n", 0, m.start()) + 1, m.group(2)) for m in FENCE.finditer(README) if m.group(1) == language]


def command_lines() -> list[tuple[int, list[str]]]:
    """Each ``biofeedback ...`` command of the sh blocks, split into words (after comments and ``&&``)."""
    found: list[tuple[int, list[str]]] = []
    for first, code in blocks("sh"):
        for offset, line in enumerate(code.splitlines()):
            words = shlex.split(line, comments=True)
            command: list[str] = []
            for word in [*words, "&&"]:
                if word in ("&&", "||", ";", "|"):
                    if command[:1] == ["biofeedback"]:
                        found.append((first + 1 + offset, command))
                    command = []
                else:
                    command.append(word)
    return found


def test_the_readme_has_code_to_check() -> None:
    # guards the extraction itself: a changed fence style would otherwise check nothing
    assert blocks("python") and len(command_lines()) >= 5


@pytest.mark.parametrize(("line", "code"), blocks("python"), ids=lambda v: f"line {v}" if isinstance(v, int) else "")
def test_each_python_block_runs_as_written(line: int, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the blocks name sample_data/ from the repository root
    exec(compile(code, f"README.md, block at line {line}", "exec"), {"__name__": "__readme__"})  # noqa: S102


@pytest.mark.parametrize(("line", "argv"), command_lines(), ids=lambda v: f"line {v}" if isinstance(v, int) else "")
def test_each_command_line_parses(line: int, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        args = build_parser().parse_args(argv[1:])
    except SystemExit as exc:
        pytest.fail(f"README.md line {line}: {' '.join(argv)} does not parse: {capsys.readouterr().err.strip()}"
                    f" (exit {exc.code})")
    assert args.command is not None, f"README.md line {line}: {' '.join(argv)} names no command"
