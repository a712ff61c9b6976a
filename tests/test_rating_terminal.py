"""The rating questions in a real pseudo-terminal (tmux): a person presses keys, the answers
come back, and the terminal's mode is as it was before, on every way out.

The shell in the pane saves ``stty -g`` before the questions and after them; the two must
be equal (cbreak mode and the signal keys given back).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from test_prompt_terminal import Pane, pane, pytestmark  # noqa: F401 - the 80x24 pane with a shell; skipped without tmux

from biofeedback.display.rating import TEN_KEY

REPO = Path(__file__).resolve().parents[1]
DRIVER = REPO / "tests" / "rating_driver.py"
PAIN = "How much pain do you feel?"
TENSE = "How tense do you feel?"


class Asked:
    """The driver asking in ``pane``; ``answers()`` once it has ended."""

    def __init__(self, terminal: Pane, when: str, wait_s: float | None = None, pipe: str = "") -> None:
        self.pane = terminal
        self.result = terminal.folder / "answers.json"
        before, after = terminal.folder / "stty-before", terminal.folder / "stty-after"
        terminal.type(f"stty -g > {before}; {sys.executable} {DRIVER} {self.result} {when}{'' if wait_s is None else f' {wait_s}'}{pipe}; echo \"exit=$?\"; "
                  f"stty -g > {after}; echo STTY-SAVED")
        self.stty = (before, after)

    def key(self, *keys: str) -> None:
        """Press keys (tmux key names: ``7``, ``Enter``, ``C-c``)."""
        self.pane.tmux("send-keys", "-t", "t", *keys)

    def answers(self, exit_code: int = 0) -> tuple[dict[str, int] | None, str]:
        """The answers (None if it wrote none) and the screen, once the shell has its mode back."""
        screen = self.pane.wait(lambda s: f"exit={exit_code}" in s and "STTY-SAVED" in s)
        before, after = (p.read_text().strip() for p in self.stty)
        assert before and after == before, "the terminal's mode was not given back"
        return (json.loads(self.result.read_text()) if self.result.exists() else None), screen


def test_pressing_7_then_4_gives_pain_7_and_tension_4(pane: Pane) -> None:  # noqa: F811
    asked = Asked(pane, "before")
    pane.wait(lambda s: PAIN in s)
    assert f"0-9, {TEN_KEY} = 10" in pane.screen()
    asked.key("7", "4")  # quickly, one after the other: the second answers the second question
    answers, screen = asked.answers()
    assert answers == {"pain_before": 7, "tension_before": 4}
    assert f"{PAIN} (0 none ... 10 worst) 7" in screen and f"{TENSE} (0 none ... 10 worst) 4" in screen
    assert 'answers={"pain_before": 7, "tension_before": 4}' in screen


def test_enter_skips_a_question_keys_that_are_no_answer_are_ignored_and_t_is_ten(pane: Pane) -> None:  # noqa: F811
    asked = Asked(pane, "after")
    pane.wait(lambda s: PAIN in s)
    asked.key("Enter")
    pane.wait(lambda s: TENSE in s)
    asked.key("x", "%", TEN_KEY)
    answers, screen = asked.answers()
    assert answers == {"tension_after": 10}
    assert f"{PAIN} (0 none ... 10 worst) skipped" in screen and "worst) 10" in screen


def test_s_skips_too(pane: Pane) -> None:  # noqa: F811
    asked = Asked(pane, "after")
    pane.wait(lambda s: PAIN in s)
    asked.key("3", "s")
    answers, _ = asked.answers()
    assert answers == {"pain_after": 3}


def test_ctrl_c_skips_the_rest_and_gives_the_terminal_back(pane: Pane) -> None:  # noqa: F811
    asked = Asked(pane, "before")
    pane.wait(lambda s: PAIN in s)
    asked.key("5")
    pane.wait(lambda s: f"{PAIN} (0 none ... 10 worst) 5" in s)
    asked.key("C-c")
    answers, screen = asked.answers()
    assert answers == {"pain_before": 5}
    assert "skipped, and the rest" in screen
    assert "Traceback" not in screen and "KeyboardInterrupt" not in screen


def test_keys_pressed_before_the_questions_answer_nothing(pane: Pane) -> None:  # noqa: F811
    asked = Asked(pane, "after", wait_s=2.0)
    pane.wait(lambda s: "waiting" in s)
    asked.key("9", "9")  # keys pressed during the session ...
    pane.wait(lambda s: PAIN in s)
    asked.key("2", "Enter")  # ... are dropped when the questions start
    answers, _ = asked.answers()
    assert answers == {"pain_after": 2}


def test_sigterm_while_asking_gives_the_terminal_back(pane: Pane) -> None:  # noqa: F811
    asked = Asked(pane, "before")
    pane.wait(lambda s: PAIN in s)
    os.kill(int(Path(str(asked.result) + ".pid").read_text()), signal.SIGTERM)
    answers, _ = asked.answers(exit_code=128 + signal.SIGTERM)
    assert answers is None  # it ended there: nothing answered, nothing written


def test_output_into_a_pipe_asks_nothing(pane: Pane) -> None:  # noqa: F811
    asked = Asked(pane, "before", pipe=" | cat")  # nobody would see the questions
    answers, screen = asked.answers()
    assert answers == {} and PAIN not in screen and "answers={}" in screen
