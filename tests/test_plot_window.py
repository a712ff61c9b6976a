"""`biofeedback plot ID` with no file: the figure in a window of its own, on a virtual X display
(Xvfb), read back from the screen and closed the way a window manager closes it."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _history_data import add_paced, open_store, paced_beats
from x11_helpers import TopWindow, send_wm_delete, top_windows, xvfb

from biofeedback.plots import _HR_COLOUR

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (.ci/run installs xvfb)")
pytest.importorskip("tkinter")
ImageGrab = pytest.importorskip("PIL.ImageGrab")

REPO = Path(__file__).resolve().parents[1]
WAIT_S = 60.0  # a deadline on a slow machine, not a speed test
FIGURE_PX = (1000, 1300)  # the session figure, 10 x 13 inches at matplotlib's 100 dots an inch


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _shown(xdisplay: str, title: str, proc: subprocess.Popen[str]) -> tuple[TopWindow, np.ndarray]:
    """The window called ``title`` once shown, and its pixels once drawn: two screenshots in a row
    agree and hold the heart-rate trace's colour (the window is mapped blank, the figure drawn after)."""
    deadline = time.monotonic() + WAIT_S
    last: np.ndarray | None = None
    while time.monotonic() < deadline and proc.poll() is None:
        window = next((w for w in top_windows(xdisplay) if w.name == title and w.viewable), None)
        if window is not None:
            box = (window.x, window.y, window.x + window.width, window.y + window.height)
            shot = np.asarray(ImageGrab.grab(bbox=box, xdisplay=xdisplay).convert("RGB"))
            drawn = bool(np.all(shot == _rgb(_HR_COLOUR), axis=2).any())
            if drawn and last is not None and last.shape == shot.shape and np.array_equal(last, shot):
                return window, shot
            last = shot
        time.sleep(0.2)
    raise AssertionError(f"no window {title!r} showing the figure: {proc.poll()=}")


def test_plot_without_a_file_shows_the_figure_until_the_window_is_closed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_store(data) as store:
        sid = add_paced(store, dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC), paced_beats(20, minutes=3))
    with xvfb("1280x1600x24") as xdisplay:  # taller than the figure: all of it is on the screen
        proc = subprocess.Popen([sys.executable, "-m", "biofeedback", "plot", str(sid), "--data-dir", str(data)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(REPO), "DISPLAY": xdisplay})
        try:
            window, shot = _shown(xdisplay, f"biofeedback: session {sid}", proc)
            # the whole figure, and the toolbar below it
            assert window.width >= FIGURE_PX[0] and window.height > FIGURE_PX[1]
            # a white figure: most of the window is the figure's white background
            white = np.all(shot == 255, axis=2).mean()
            assert white > 0.6, white
            # the heart-rate trace is drawn, in the heart-rate panel (the second from the top, under
            # the words): nowhere else in the figure has its colour
            rows, _ = np.nonzero(np.all(shot == _rgb(_HR_COLOUR), axis=2))
            assert rows.size > 1000  # three minutes of heart rate, a line of more than a thousand pixels
            assert 0.1 * window.height < rows.min() and rows.max() < 0.35 * window.height, (rows.min(), rows.max())
            send_wm_delete(xdisplay, window.window_id)
            stdout, stderr = proc.communicate(timeout=WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert not [w for w in top_windows(xdisplay) if w.viewable]  # the window is gone
    assert proc.returncode == 0 and stderr == "" and stdout == ""
