"""The prompt of a real `biofeedback train` run, as a person meets it: in an 80×24 terminal
(tmux), and in a window on a virtual X display (Xvfb) that the person closes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_prompt_terminal import Pane, restored, shape_pixels

from biofeedback.display.calm import DEFAULT_CALM_LINES
from biofeedback.paths import store_path
from biofeedback.store import SessionStore

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data" / "polarh10_slow_breathing.txt"
WAIT_S = 60.0  # a deadline on a slow machine, not a speed test


@pytest.fixture
def pane() -> Iterator[Pane]:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux (.ci/run installs it)")
    with tempfile.TemporaryDirectory(prefix="bf-train-") as folder:
        p = Pane(Path(folder))
        try:
            yield p
        finally:
            p.close()


def stored_sessions() -> list[object]:
    with SessionStore(store_path(Path(os.environ["BIOFEEDBACK_HOME"]))) as s:
        return list(s.sessions())


def test_a_train_run_in_a_terminal_with_ratings_before_and_after(pane: Pane) -> None:
    pane.type(f"{sys.executable} -m biofeedback train --source {SAMPLE} --preset fixed:6 --minutes 5 --speed 3 "
              '--ui terminal; echo "exit=$?"')
    pane.wait(lambda s: "How much pain do you feel?" in s)
    pane.tmux("send-keys", "-t", "t", "7")
    pane.wait(lambda s: "How tense do you feel?" in s)
    pane.tmux("send-keys", "-t", "t", "4")
    # the prompt: wait for the heart rate (from the 5th beat) and a whole breath's swing
    screen = pane.wait(lambda s: "heart rate" in s and " bpm" in s.split("heart rate")[1].split("\n")[0]
                       and "swing      --" not in s)
    assert pane.state("alternate_on") == "1" and pane.state("cursor_flag") == "0"
    for text in ("pace       6.0 breaths/min", "coach      fixed", "a fixed pace of 6 breaths/min", "done",
                 "left", "battery    --", "signal     good (0.0% corrected)", "per breath", "Ctrl-C ends the session"):
        assert text in screen, text
    assert any(line in screen for line in DEFAULT_CALM_LINES)
    lines = screen.splitlines()
    assert len(lines) <= 24 and max(len(line.rstrip()) for line in lines) <= 80
    assert lines[21].strip() == "Ctrl-C ends the session"  # the last row of the prompt fits the 24
    # over a few breaths (one every 10 s of session time, 3.3 s here): breathe in with the shape
    # growing, breathe out with it shrinking
    frames: list[tuple[str, int]] = []  # (the words shown, the shape's pixels), screen by screen
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and (len({w for w, _ in frames}) < 2 or len(frames) < 60):
        s = pane.screen()
        words = next((line.strip().split("   ")[0] for line in s.splitlines() if "breathe" in line), "")
        if words in ("breathe in", "breathe out"):
            frames.append((words, shape_pixels(s)))
        time.sleep(0.05)
    runs: list[tuple[str, list[int]]] = []  # consecutive screens with the same words
    for words, pixels in frames:
        if runs and runs[-1][0] == words:
            runs[-1][1].append(pixels)
        else:
            runs.append((words, [pixels]))
    assert {w for w, _ in runs} == {"breathe in", "breathe out"}
    for words, pixels in runs:  # the shape grows while breathing in and shrinks while breathing out
        assert pixels == sorted(pixels, reverse=words == "breathe out"), (words, pixels)
    sizes = [p for _, p in frames]
    assert max(sizes) > 3 * min(sizes)
    pane.tmux("send-keys", "-t", "t", "C-c")
    pane.wait(lambda s: "How much pain do you feel?" in s and "After the session" in s)
    assert pane.state("alternate_on") == "0"  # the prompt gave the screen back before asking
    pane.tmux("send-keys", "-t", "t", "3")
    pane.wait(lambda s: s.count("How tense do you feel?") == 2)
    pane.tmux("send-keys", "-t", "t", "Enter")
    screen = restored(pane, 0)
    assert "ended early (it is kept)." in screen
    assert "Pain: 7 before, 3 after (4 less)." in screen and "Tension: 4 before, not rated after." in screen
    (stored,) = stored_sessions()
    s: Any = stored
    assert s.status == "incomplete"
    assert (s.pain_before, s.tension_before, s.pain_after, s.tension_after) == (7, 4, 3, None)


# ---------------------------------------------------------------------------- the window


def test_closing_the_window_ends_the_session_cleanly_and_keeps_it(tmp_path: Path) -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb (.ci/run installs xvfb)")
    pytest.importorskip("tkinter")
    from test_prompt_window import circle_pixels
    from x11_helpers import send_wm_delete, window_named, xvfb

    with xvfb() as xdisplay:
        proc = subprocess.Popen([sys.executable, "-m", "biofeedback", "train", "--source", str(SAMPLE), "--preset",
                                 "fixed:6", "--speed", "2", "--no-rating"],  # --ui: the window, as a display exists
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(REPO), "DISPLAY": xdisplay})
        deadline = time.monotonic() + WAIT_S
        window = None
        while window is None and time.monotonic() < deadline and proc.poll() is None:
            window = window_named(xdisplay, "biofeedback: breathe with the circle")
            time.sleep(0.1)
        assert window is not None, proc.communicate(timeout=5)
        while not stored_sessions() and time.monotonic() < deadline:  # the first beats are in
            time.sleep(0.1)
        assert circle_pixels(xdisplay) > 0  # the breathing circle is drawn
        send_wm_delete(xdisplay, window)
        stdout, stderr = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "ended early (it is kept)." in stdout
    (stored,) = stored_sessions()
    assert stored.status == "incomplete" and stored.settings["ui"] == "window"  # type: ignore[attr-defined]
    assert stored.n_beats > 0 and stored.summary["ended_early"] is True  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- eyes closed


def test_eyes_closed_the_sound_leads_one_dim_line_and_enter_ends_the_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from sound_helpers import null_sink_server, sound_env

    if shutil.which("tmux") is None or shutil.which("pulseaudio") is None:
        pytest.skip("needs tmux and pulseaudio (.ci/run installs them)")
    pytest.importorskip("sounddevice")
    home = tmp_path / "home"
    home.mkdir()
    raw = tmp_path / "played.raw"
    with null_sink_server(home) as socket:
        for key, value in sound_env(home, socket, raw).items():  # the pane's shell plays through ALSA's file plugin
            monkeypatch.setenv(key, value)
        with tempfile.TemporaryDirectory(prefix="bf-train-") as folder:
            pane = Pane(Path(folder))
            try:
                pane.type(f"{sys.executable} -m biofeedback train --source {SAMPLE} --preset fixed:6 --minutes 5 "
                          '--eyes-closed --no-rating; echo "exit=$?"')
                screen = pane.wait(lambda s: any(x.rstrip().endswith("left  ·  Enter or Ctrl-C ends it")
                                                 for x in s.splitlines()))  # the first beat is in
                line = next(x for x in screen.splitlines() if "Enter or Ctrl-C" in x).strip()
                words, pace, left, hint = line.split("  ·  ")[:4]
                assert words.split()[:2] in (["breathe", "in"], ["breathe", "out"]) and pace == "6.0 breaths/min"
                assert left.endswith(" left") and hint == "Enter or Ctrl-C ends it"
                assert "heart rate" not in screen and shape_pixels(screen) == 0  # nothing else to read
                dim = next(x for x in pane.screen(escapes=True).splitlines() if "Enter or Ctrl-C" in x)
                assert "\x1b[2m" in dim
                deadline = time.monotonic() + WAIT_S
                while (not raw.exists() or raw.stat().st_size < 4 * 48000 * 2) and time.monotonic() < deadline:
                    time.sleep(0.1)  # two seconds of sound played
                pane.tmux("send-keys", "-t", "t", "Enter")
                screen = pane.wait(lambda s: "exit=" in s and s.rstrip().endswith("READY$"))
            finally:
                pane.close()
    assert "exit=0" in screen and "ended early (it is kept)." in screen
    played = np.fromfile(raw, dtype="<f4").astype(np.float64)  # what the stream played (float32 at 48 kHz)
    assert played.size >= 2 * 48000 and 0.0 < np.abs(played).max() <= 1.0  # the tone, not silence
    (stored,) = stored_sessions()
    assert stored.status == "incomplete" and stored.settings["ui"] == "sound"  # type: ignore[attr-defined]
    assert stored.settings["sound"] is True  # type: ignore[attr-defined]
