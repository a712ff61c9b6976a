"""The window prompt: a real Tk window on a virtual X display (Xvfb), read back from the screen.

The circle is measured on screenshots of the X display (Pillow's ImageGrab over XCB):
the pixels of the circle's colour, at moments through one breath. Closing is sent the way a
window manager sends it, a WM_DELETE_WINDOW client message from another X client
(tests/x11_helpers.py).
"""

from __future__ import annotations

import itertools
import math
import shutil
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from x11_helpers import send_wm_delete, xvfb

from biofeedback.display.prompt import PromptFrame
from biofeedback.display.window import CIRCLE_COLOUR, MIN_RADIUS, WindowPrompt, display_available
from biofeedback.errors import DisplayUnavailableError

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (.ci/run installs xvfb)")
tkinter = pytest.importorskip("tkinter")
ImageGrab = pytest.importorskip("PIL.ImageGrab")


@pytest.fixture(scope="module")
def xdisplay() -> Iterator[str]:
    """A private virtual X display, ":N"."""
    with xvfb() as display:
        yield display


def frame(fullness: float, part: str, t_s: float = 60.0) -> PromptFrame:
    hr_t_s = np.arange(0.0, t_s, 1.0)
    onsets = np.arange(0.0, t_s, 10.0)
    return PromptFrame(fullness=fullness, part=part, part_left_s=2.0, pace_bpm=6.0,  # type: ignore[arg-type]
                       heart_rate_bpm=63.0, swing_bpm=11.8, swing_trend_bpm=1.3, swing_target_bpm=15.0,
                       stage="exploring", reason="slower: the swing grew", elapsed_s=t_s, remaining_s=600.0 - t_s,
                       battery_percent=87, corrected_share=0.004, calm_line="It's going to be okay.",
                       hr_t_s=hr_t_s, hr_bpm=65.0 + 5.0 * np.sin(2 * np.pi * hr_t_s / 10.0),
                       breath_onsets_s=onsets, inhale_ends_s=onsets + 4.0, swings_t_s=onsets[1:] ,
                       swings_bpm=np.linspace(8.0, 12.0, onsets.size - 1), t_s=t_s)


def circle_pixels(xdisplay: str) -> int:
    """Pixels of the circle's colour on the whole screen, once two screenshots in a row agree."""
    rgb = tuple(int(CIRCLE_COLOUR[i:i + 2], 16) for i in (1, 3, 5))
    last = -1
    for _ in range(50):
        shot = np.asarray(ImageGrab.grab(xdisplay=xdisplay).convert("RGB"))
        n = int(np.all(shot == rgb, axis=2).sum())
        if n == last:
            return n
        last = n
    raise AssertionError("the screen never settled")


def test_the_circle_grows_while_breathing_in_and_shrinks_while_breathing_out(xdisplay: str) -> None:
    inhale = [0.0, 0.25, 0.5, 0.75, 1.0]
    with WindowPrompt(screen=xdisplay) as window:
        sizes = []
        for fullness, part in [(f, "inhale") for f in inhale] + [(f, "exhale") for f in inhale[::-1]]:
            window.show(frame(fullness, part))
            sizes.append(circle_pixels(xdisplay))
        assert window.frames_shown == 10
    grow, shrink = sizes[:5], sizes[5:]
    assert all(a < b for a, b in itertools.pairwise(grow)), sizes
    assert all(a > b for a, b in itertools.pairwise(shrink)), sizes
    # shrinking redraws the background: the same fullness gives the same circle, to the pixel
    assert shrink == grow[::-1]
    # the area follows the radius, MIN_RADIUS of the largest at empty: (1 / 0.25)² = 16 times
    assert sizes[4] / sizes[0] == pytest.approx((1.0 / MIN_RADIUS) ** 2, rel=0.03)
    radius = [MIN_RADIUS + (1 - MIN_RADIUS) * f for f in inhale]
    assert np.asarray(grow) / grow[4] == pytest.approx(np.square(radius), rel=0.03)
    # nothing of the circle is left on the screen once the window is closed
    assert circle_pixels(xdisplay) == 0


def test_a_breath_at_twenty_frames_a_second_redraws_the_whole_window_once(xdisplay: str) -> None:
    with WindowPrompt(screen=xdisplay) as window:
        window.show(frame(0.0, "inhale"))
        full = window.full_redraws
        for i in range(200):  # one breath of 10 s at 20 frames a second, with a beat every second
            t_s = 60.0 + i / 20
            fullness = 0.5 - 0.5 * math.cos(2 * math.pi * i / 200)
            window.show(frame(fullness, "inhale" if i < 80 else "exhale", t_s=math.floor(t_s)))
        # the circle and words were blitted; the whole window redrawn only when it opened
        assert window.frames_shown == 201 and window.full_redraws == full
        assert circle_pixels(xdisplay) > 0


def test_the_first_frames_before_any_beat_and_breaths_without_inhale_ends(xdisplay: str) -> None:
    bare = PromptFrame(fullness=0.0, part="inhale", part_left_s=4.0, pace_bpm=6.0)
    with WindowPrompt(screen=xdisplay) as window:
        window.show(bare)
        empty = circle_pixels(xdisplay)
        f = frame(1.0, "exhale")
        window.show(PromptFrame.of_breath(f, hr_t_s=f.hr_t_s, hr_bpm=f.hr_bpm, breath_onsets_s=f.breath_onsets_s))
        assert window.frames_shown == 2 and circle_pixels(xdisplay) > 10 * empty > 0


def test_closing_the_window_is_reported_once_and_ends_drawing(xdisplay: str) -> None:
    calls: list[bool] = []
    with WindowPrompt(screen=xdisplay, on_close=lambda: calls.append(True)) as window:
        window.show(frame(0.5, "inhale"))
        assert not window.closed and circle_pixels(xdisplay) > 0
        window_id = window.window_id
        assert window_id is not None
        send_wm_delete(xdisplay, window_id)
        for _ in range(100):  # the session keeps showing frames until it sees the window closed
            window.show(frame(0.6, "inhale"))
            if window.closed:
                break
        assert window.closed and calls == [True]
        assert window.window_id is None
        window.show(frame(0.7, "inhale"))  # after closing: nothing, and no error
    assert calls == [True]
    assert circle_pixels(xdisplay) == 0


def test_an_exception_inside_closes_the_window(xdisplay: str) -> None:
    with pytest.raises(RuntimeError, match="boom"), WindowPrompt(screen=xdisplay) as window:
        window.show(frame(1.0, "exhale"))
        raise RuntimeError("boom")
    assert window.closed and circle_pixels(xdisplay) == 0


def test_no_display_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DisplayUnavailableError, match="no display for the window prompt.*use --ui terminal"):
        WindowPrompt(screen=":4242").open()
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert not display_available()
    monkeypatch.setenv("DISPLAY", ":0")
    assert display_available()


def test_opening_the_module_chooses_no_backend() -> None:
    code = ("import sys, biofeedback.display.window\n"
            "print(any(m.startswith(('matplotlib', 'tkinter')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
