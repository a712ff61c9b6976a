"""The terminal prompt in a real pseudo-terminal (tmux): what a person sees, and the terminal after.

A shell runs in an 80×24 tmux pane; ``tests/prompt_driver.py`` shows the frames of one
breath there, one step per command, and the test reads the screen with ``tmux
capture-pane`` and the terminal's state (alternate screen, cursor) from tmux itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from biofeedback.display.calm import DEFAULT_CALM_LINES, CalmLines
from biofeedback.display.terminal import disc_lines

REPO = Path(__file__).resolve().parents[1]
DRIVER = REPO / "tests" / "prompt_driver.py"
sys.path.insert(0, str(REPO / "tests"))
from prompt_driver import BREATH_INDEX, STEPS

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (.ci/run installs it)")
WAIT_S = 30.0  # longest wait for the screen to show something (a deadline on a slow machine, not a speed test)


class Pane:
    """A shell in an 80×24 tmux pane on a private tmux server."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sock = str(folder / "tmux.sock")
        self.commands = folder / "commands"
        env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color", "LC_ALL": "C.UTF-8"}
        env.pop("TMUX", None)
        subprocess.run(["tmux", "-u", "-S", self.sock, "-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24",
                        "-s", "t", "env PS1='READY$ ' bash --norc --noprofile"], env=env, check=True)
        self.tmux("set-option", "-g", "status", "off")
        self.wait(lambda s: "READY$" in s)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True, text=True,
                              check=True).stdout

    def screen(self, escapes: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "t")

    def state(self, name: str) -> str:
        return self.tmux("display-message", "-p", "-t", "t", f"#{{{name}}}").strip()

    def type(self, line: str) -> None:
        self.tmux("send-keys", "-t", "t", "-l", line)
        self.tmux("send-keys", "-t", "t", "Enter")

    def run_driver(self, mode: str, *extra: str) -> None:
        self.type(" ".join([sys.executable, str(DRIVER), str(self.commands), mode, *extra]) + '; echo "exit=$?"')

    def command(self, cmd: str) -> None:
        with self.commands.open("a") as f:
            f.write(cmd + "\n")

    def wait(self, ok: Callable[[str], bool]) -> str:
        """The screen once ``ok`` holds and two captures in a row agree (the drawing is complete)."""
        deadline = time.monotonic() + WAIT_S
        last = None
        while time.monotonic() < deadline:
            s = self.screen()
            if ok(s) and s == last:
                return s
            last = s
            time.sleep(0.05)
        raise AssertionError(f"the screen never showed what was expected; it shows:\n{last}")

    def step(self, n: int) -> str:
        """Show step ``n`` and return the screen once it shows it."""
        self.command(str(n))
        return self.wait(lambda s: f"{STEPS[n][3]:.0f} bpm" in s)

    def driver_pid(self) -> int:
        return int((self.folder / "commands.pid").read_text())

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def pane() -> Iterator[Pane]:
    # a short folder of our own: a unix socket's path must be short
    with tempfile.TemporaryDirectory(prefix="bf-tmux-") as folder:
        p = Pane(Path(folder))
        try:
            yield p
        finally:
            p.close()


def shape_pixels(screen: str) -> int:
    """Half-block pixels of the breathing shape on the screen: "█" is two, "▀" and "▄" one each."""
    return 2 * screen.count("█") + screen.count("▀") + screen.count("▄")


def restored(pane: Pane, exit_code: int) -> str:
    """The screen once the driver has ended with ``exit_code``; checks the terminal is as before."""
    screen = pane.wait(lambda s: f"exit={exit_code}" in s and s.rstrip().endswith("READY$"))
    assert pane.state("alternate_on") == "0"  # the alternate screen was left
    assert pane.state("cursor_flag") == "1"  # the cursor is shown again
    assert "breathe" not in screen and "█" not in screen  # the shell's own screen is back, untouched
    return screen


def test_one_breath_as_a_person_sees_it(pane: Pane) -> None:
    pane.run_driver("full")
    screens = [pane.step(n) for n in range(len(STEPS))]
    assert pane.state("alternate_on") == "1" and pane.state("cursor_flag") == "0"
    assert pane.state("pane_width") == "80" and pane.state("pane_height") == "24"

    words = [next(line for line in s.splitlines() if "breathe" in line) for s in screens]
    assert [" ".join(w.split()[:4]) for w in words] == [
        "breathe in 4", "breathe in 2", "breathe out 6", "breathe out 3", "breathe out 1"]
    # the shape grows while breathing in and shrinks while breathing out
    pixels = [shape_pixels(s) for s in screens]
    assert pixels[0] < pixels[1] < pixels[2] > pixels[3] > pixels[4]
    # to the pixel what the disc of that fullness is: empty is 5 columns across, full 29
    assert pixels == [shape_pixels("\n".join(disc_lines(2.5 + 12.0 * round(f * 48) / 48))) for f, *_ in STEPS]
    widths = [max(len(line[:31].strip()) for line in s.splitlines()[2:17]) for s in screens]
    assert widths[0] == 5 and widths[2] == 29

    full = screens[2]
    for text in ("pace       6.0 breaths/min", "heart rate 63 bpm", "swing      11.8 bpm ↑ +1.3 per breath",
                 "target 15.0 bpm", "coach      exploring", "slower: the swing grew at 6.5", "time       01:06 done",
                 "08:54 left", "battery    87%", "signal     good (0.4% corrected)",
                 CalmLines().line_for(BREATH_INDEX), "Ctrl-C ends the session"):
        assert text in full, text
    # it fits: nothing cut at the right (the longest value ends inside 80 columns), and the
    # last line of the prompt, the hint, on row 22 of 24
    lines = full.splitlines()
    assert len(lines) <= 24 and max(len(line.rstrip()) for line in lines) <= 80
    rows = [n for n, line in enumerate(lines) if line.strip()]
    assert rows[0] == 0 and lines[rows[-1]].strip() == "Ctrl-C ends the session" and rows[-1] == 21
    assert lines[19].strip() == CalmLines().line_for(BREATH_INDEX)

    assert "reconnecting" not in full
    pane.command("r4")
    screen = pane.wait(lambda s: "reconnecting" in s)
    # on the row of the words, in the column of the values beside the shape
    notice = next(line for line in screen.splitlines() if "reconnecting" in line)
    assert notice.split()[:3] == ["breathe", "out", "1"]
    assert notice.index("strap reconnecting (attempt 2)…") == screen.splitlines()[2].index("pace")

    pane.command("quit")
    restored(pane, 0)


def test_the_persons_own_calm_line_is_shown(pane: Pane) -> None:
    own = pane.folder / "calm.txt"
    own.write_text("# mine\nMy back is allowed to rest.\n\nSlow is good.\n", encoding="utf-8")
    pane.run_driver("full", str(own))
    screen = pane.step(2)
    lines = CalmLines.from_file(own)
    assert lines.line_for(BREATH_INDEX) in screen and lines.line_for(BREATH_INDEX) in lines.lines
    assert not any(line in screen for line in DEFAULT_CALM_LINES)
    pane.command("quit")
    restored(pane, 0)


def test_an_error_inside_leaves_the_terminal_restored_and_the_error_readable(pane: Pane) -> None:
    pane.run_driver("full")
    pane.step(1)
    pane.command("raise")
    screen = restored(pane, 1)
    assert "RuntimeError: the driver was asked to fail" in screen


def test_ctrl_c_leaves_the_terminal_restored(pane: Pane) -> None:
    pane.run_driver("full")
    pane.step(2)
    pane.tmux("send-keys", "-t", "t", "C-c")
    screen = restored(pane, 130)
    assert "interrupted" in screen


def test_sigterm_leaves_the_terminal_restored(pane: Pane) -> None:
    pane.run_driver("full")
    pane.step(3)
    os.kill(pane.driver_pid(), signal.SIGTERM)
    restored(pane, 143)


def test_minimal_mode_is_one_dim_line_erased_at_the_end(pane: Pane) -> None:
    pane.run_driver("minimal")
    pane.command("0")  # the minimal line shows no heart rate: wait for its words
    screen = pane.wait(lambda s: "breathe in 4" in s)
    shown = [line for line in screen.splitlines() if line.strip()]
    assert shown[-1].strip().startswith("breathe in 4  ·  6.0 breaths/min  ·  08:58 left  ·  Ctrl-C ends")
    assert shape_pixels(screen) == 0 and "heart rate" not in screen
    assert pane.state("alternate_on") == "0" and pane.state("cursor_flag") == "0"
    line = next(x for x in pane.screen(escapes=True).splitlines() if "breathe in 4" in x)
    assert "\x1b[2m" in line  # drawn dim
    pane.command("2")
    pane.wait(lambda s: "breathe out 6" in s and "breathe in" not in s)
    pane.command("quit")
    screen = pane.wait(lambda s: "exit=0" in s and s.rstrip().endswith("READY$"))
    assert "breathe" not in screen.split("exit=0")[0].splitlines()[-1]
    assert pane.state("cursor_flag") == "1"


def test_progress_line_is_rewritten_in_place_on_a_terminal(pane: Pane) -> None:
    pane.run_driver("progress")
    for n in range(3):
        pane.command(str(n))
        screen = pane.wait(lambda s, n=n: f"HR {STEPS[n][3]:.0f} bpm" in s)
    progress = [line for line in screen.splitlines() if "HR " in line]
    # one line, cut to the terminal's width (a wrapped line could not be rewritten in place)
    assert progress == ["01:06 done, 08:54 left  HR 63 bpm  pace 6.0/min  swing 11.8 bpm  exploring"]
    pane.command("quit")
    pane.wait(lambda s: "exit=0" in s)
