"""The prompt frame, the plain words both prompts show, the progress line, and the terminal drawing."""

from __future__ import annotations

import io
import signal
from dataclasses import dataclass

import numpy as np
import pytest
from rich.console import Console

from biofeedback.display.prompt import (
    PromptFrame,
    battery_words,
    count_words,
    part_words,
    progress_words,
    signal_words,
    swing_trend_bpm,
    swing_words,
    time_words,
    trend_arrow,
)
from biofeedback.display.progress import ProgressLine
from biofeedback.display.terminal import TerminalPrompt, disc_lines
from biofeedback.errors import InvalidInputError


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def frame(**kw: object) -> PromptFrame:
    base: dict[str, object] = {"fullness": 0.5, "part": "inhale", "part_left_s": 2.0, "pace_bpm": 6.0,
                               "heart_rate_bpm": 62.4, "swing_bpm": 11.84, "stage": "exploring",
                               "elapsed_s": 192.0, "remaining_s": 408.0}
    return PromptFrame(**{**base, **kw})  # type: ignore[arg-type]


def test_words_for_people() -> None:
    assert [part_words(p) for p in ("inhale", "hold_in", "exhale", "hold_out")] == [
        "breathe in", "hold", "breathe out", "hold"]
    assert [count_words(s) for s in (4.0, 3.99, 2.1, 1.0, 0.3, 0.0)] == ["4", "4", "3", "1", "1", "1"]
    assert [trend_arrow(t) for t in (1.2, 0.4, -0.4, -0.6, None, float("nan"))] == ["↑", "→", "→", "↓", "", ""]
    assert swing_words(12.34, 1.26, 15.0) == "12.3 bpm ↑ +1.3, target 15.0"
    assert swing_words(12.34, -0.2) == "12.3 bpm → -0.2"
    assert swing_words(None) == "--"
    assert [signal_words(s) for s in (0.0, 0.01, 0.03, 0.08, None)] == [
        "good (0.0% corrected)", "good (1.0% corrected)", "fair (3.0% corrected)", "poor (8.0% corrected)", "--"]
    assert battery_words(87) == "87%" and battery_words(None) == "--"
    assert time_words(192.7, 407.3) == "03:12 done, 06:48 left"
    assert time_words(599.5, 0.5) == "09:59 done, 00:01 left" and time_words(600.0, 0.0).endswith("00:00 left")
    assert time_words(61.0, None) == "01:01 done"


def test_swing_trend_is_the_last_breaths_against_the_ones_before() -> None:
    assert swing_trend_bpm([5.0, 6.0, 7.0, 9.0, 10.0, 11.0]) == pytest.approx(4.0)
    assert swing_trend_bpm([1.0, 9.0, 9.0, 9.0, 7.0, 7.0, 7.0], breaths=3) == pytest.approx(-2.0)
    assert swing_trend_bpm([5.0, 6.0, 7.0, 9.0, 10.0]) is None
    assert swing_trend_bpm([5.0, 7.0], breaths=1) == pytest.approx(2.0)


def test_progress_words() -> None:
    assert progress_words(frame()) == "03:12 done, 06:48 left  HR 62 bpm  pace 6.0/min  swing 11.8 bpm  exploring"
    assert progress_words(frame(heart_rate_bpm=None, swing_bpm=None, stage="", reconnecting=True)) == (
        "03:12 done, 06:48 left  HR -- bpm  pace 6.0/min  swing --  strap reconnecting…")


@pytest.mark.parametrize("kw", [{"fullness": 1.01}, {"fullness": -0.1}, {"part": "sigh"}, {"part_left_s": -1.0},
                                {"pace_bpm": 0.0}, {"corrected_share": 2.0},
                                {"hr_t_s": np.arange(3.0), "hr_bpm": np.arange(2.0)},
                                {"breath_onsets_s": np.arange(3.0), "inhale_ends_s": np.arange(2.0)}])
def test_a_frame_out_of_range_is_refused(kw: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        frame(**kw)


def test_a_frame_of_the_pacers_breath_state() -> None:
    @dataclass(frozen=True)
    class Breath:  # the fields of biofeedback.pacer.BreathState that a frame shows
        t_s: float = 75.5
        pace_bpm: float = 5.5
        part: str = "hold_out"
        part_left_s: float = 0.7
        fullness: float = 1.0000000002  # eased shapes may overshoot by a rounding error

    f = PromptFrame.of_breath(Breath(), heart_rate_bpm=61.0, elapsed_s=70.0)
    assert (f.fullness, f.part, f.part_left_s, f.pace_bpm, f.now_s, f.heart_rate_bpm, f.elapsed_s) == (
        1.0, "hold_out", 0.7, 5.5, 75.5, 61.0, 70.0)
    assert (part_words(f.part), count_words(f.part_left_s)) == ("hold", "1")


def test_frame_time_defaults_to_elapsed() -> None:
    assert frame().now_s == 192.0 and frame(t_s=250.5).now_s == 250.5


def test_progress_line_off_a_terminal_every_30_s_and_at_reconnects() -> None:
    out = io.StringIO()
    with ProgressLine(out) as line:
        for t in np.arange(0.0, 95.0, 0.05):
            line.show(frame(elapsed_s=float(t), remaining_s=600.0 - t, reconnecting=70.0 <= t < 75.0))
    lines = out.getvalue().splitlines()
    assert [x[:5] for x in lines] == ["00:30", "01:00", "01:10", "01:15", "01:30"]
    assert lines[2].endswith("strap reconnecting…") and not lines[3].endswith("reconnecting…")


def test_progress_line_on_a_terminal_rewrites_in_place_only_when_it_changes() -> None:
    out = Tty()
    with ProgressLine(out) as line:
        for t in np.arange(0.0, 3.0, 0.05):  # 60 frames, 3 different seconds
            line.show(frame(elapsed_s=float(t), remaining_s=600.0 - t, stage="a stage with a long name " * 3))
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n")
    # cut to the terminal's width (80 where it cannot tell): a wrapped line could not be rewritten
    assert all(len(part.rstrip("\n")) == 79 for part in text.split("\r")[1:])


def test_disc_sizes() -> None:
    def width(lines: tuple[str, ...]) -> int:
        return max(len(line.strip()) for line in lines)

    assert width(disc_lines(2.5)) == 5 and width(disc_lines(14.5)) == 29
    full = "".join(disc_lines(14.5))
    assert full.count("█") > 10 * "".join(disc_lines(2.5)).count("█")
    assert all(len(line) == 31 for line in disc_lines(8.0))


def test_terminal_prompt_draws_only_frames_that_look_different() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, height=24, color_system=None)
    with TerminalPrompt(console) as prompt:
        for i in range(40):  # 2 s at 20 frames a second: the count and shape move, little else
            prompt.show(frame(fullness=min(1.0, i / 80), part_left_s=4.0 - i / 20, elapsed_s=192.0 + i / 20,
                              remaining_s=408.0 - i / 20))
        drawn = prompt.frames_drawn
        prompt.show(frame(fullness=min(1.0, 39 / 80), part_left_s=4.0 - 39 / 20, elapsed_s=192.0 + 39 / 20,
                          remaining_s=408.0 - 39 / 20))
        assert prompt.frames_drawn == drawn  # the same picture again: not redrawn
    # the radius moves in 0.25-pixel steps: each new step is drawn, frames between steps are skipped
    steps = len({round((2.5 + 12.0 * i / 80) / 0.25) for i in range(40)})
    assert steps <= drawn < 40
    assert "breathe in   4" in out.getvalue() and "breathe in   3" in out.getvalue()


def test_terminal_prompt_before_any_beat_shows_dashes() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, height=24, color_system=None)
    with TerminalPrompt(console) as prompt:
        prompt.show(PromptFrame(fullness=0.0, part="hold_out", part_left_s=1.5, pace_bpm=6.0))
    text = out.getvalue()
    for shown in ("hold   2", "heart rate --", "swing      -- per breath", "coach      --", "00:00 done",
                  "battery    --", "signal     --"):
        assert shown in text, shown


def test_sigterm_unwinds_while_the_prompt_is_open_and_is_given_back_after() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=80, height=24)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(SystemExit) as ended, TerminalPrompt(console):
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        signal.raise_signal(signal.SIGTERM)
    assert ended.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    # a handler someone installed meanwhile (an event loop's) is left in place
    def theirs(signum: int, frame: object) -> None:
        pass

    try:
        with TerminalPrompt(console):
            signal.signal(signal.SIGTERM, theirs)
        assert signal.getsignal(signal.SIGTERM) is theirs
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.parametrize("rows", [24, 16, 12])
def test_terminal_prompt_in_a_smaller_terminal_keeps_the_shape_words_calm_line_and_hint(rows: int) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, height=rows, color_system=None, record=True)
    with TerminalPrompt(console) as prompt:
        prompt.show(frame(fullness=1.0, part="exhale", part_left_s=5.5, calm_line="Slow is good."))
        screen = console.export_text(clear=False)
    lines = screen.rstrip("\n").split("\n")
    assert len(lines) == rows
    assert any(line.strip().startswith("breathe out   6") for line in lines)
    assert "Slow is good." in screen and lines[min(rows, 22) - 1].strip() == "Ctrl-C ends the session"
    shape_rows = sum(1 for line in lines if "█" in line)
    assert shape_rows == {24: 15, 16: 9, 12: 5}[rows]
