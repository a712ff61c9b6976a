"""The calm lines a person keeps with ``biofeedback calm-lines FILE`` are the ones the terminal
prompt shows (in tmux, read from the screen)."""

from __future__ import annotations

from pathlib import Path

from prompt_driver import BREATH_INDEX
from test_prompt_terminal import Pane, pane, pytestmark, restored  # noqa: F401 - the pane; skipped without tmux

from biofeedback.cli import main
from biofeedback.display.calm import DEFAULT_CALM_LINES


def test_the_kept_lines_are_shown_by_the_prompt(pane: Pane, tmp_path: Path) -> None:  # noqa: F811
    home = tmp_path / "home"
    home.mkdir()
    mine = tmp_path / "mine.txt"
    own = ["My back is allowed to rest.", "Slow is good.", "Nothing to fix right now."]
    mine.write_text("\n".join(own) + "\n", encoding="utf-8")
    assert main(["calm-lines", str(mine), "--data-dir", str(home)]) == 0
    pane.run_driver("full", str(home))  # the prompt's lines from the data folder
    screen = pane.step(2)
    assert own[(BREATH_INDEX // 3) % len(own)] in screen  # breath 4: the second line
    assert not any(line in screen for line in DEFAULT_CALM_LINES)
    pane.command("quit")
    restored(pane, 0)
