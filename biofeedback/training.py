"""The pieces of a training session: the coach and pacer on each beat, the coach's decisions
into the store, and the breathing prompt's frames.

``biofeedback train`` is a :class:`~biofeedback.session.Session` with these pieces::

    processors: GuidePiece        (live artefact check -> BreathGuide: coach -> pacer)
    sinks:      StoreSink(pacer=) (every frame, beat with the pace and phase shown, gap, link event)
                DecisionSink      (every coach decision, as an event of kind "coach")
    displays:   PromptPiece       (a PromptFrame at each tick, to the terminal, window or progress line)

The sound (:class:`~biofeedback.display.sound.SoundPrompt`) reads the pacer from PortAudio's
thread, while the guide asks it for new paces on the loop's: :class:`LockedPacer` puts a
lock around every call into the pacer (the pacer itself is pure and knows no threads).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from biofeedback.beats import Beat, Gap
from biofeedback.display.calm import CalmLines
from biofeedback.display.prompt import PromptFrame, swing_trend_bpm
from biofeedback.live_artifacts import LiveArtefactFilter
from biofeedback.outcome import breath_swings_bpm
from biofeedback.pieces import Piece, SessionEvent
from biofeedback.recording import LinkEvent, Recording, RecordingMeta
from biofeedback.store.sink import StoreSink

__all__ = ["AudioClock", "DecisionSink", "GuidePiece", "LockedPacer", "PromptPiece", "Screen"]

log = logging.getLogger(__name__)

HR_BEATS: Final[int] = 5  # the heart rate shown: of the mean of this many last accepted intervals
TRACE_S: Final[float] = 60.0  # the window's heart-rate trace and breaths: this many seconds back
SWING_HISTORY: Final[int] = 20  # per-breath swings kept for the trend and the window


class Screen(Protocol):
    """What shows frames: TerminalPrompt, WindowPrompt, ProgressLine."""

    def show(self, frame: PromptFrame) -> None: ...


class LockedPacer:
    """A pacer shared between the loop's thread and the audio thread: every call under one lock.

    It has the pacer's ``at``, ``fullness_at``, ``request``, ``request_pattern``, ``pattern``,
    ``onsets_s``, ``paces_bpm``, ``peek`` and ``peek_fullness`` (see :class:`biofeedback.pacer.Pacer`),
    so it can stand wherever a pacer is expected (the guide, the store sink, the simulated person).

    The pacer fixes each breath's pattern when it is first asked about a time in it, and a
    request takes effect at the next breath not yet fixed. The beat stream asks it (the
    guide, the store) at beat times. The displays ask about "now", which runs up to a
    notification ahead of the last beat, the sound a little further ahead still, and the
    simulated person asks about the beats it makes, up to a notification ahead of those the
    coach has had. Were those questions to fix a breath, the pattern of a breath would depend
    on when a clock tick happened to fall, or on how the beats were grouped into notifications,
    and a replay could differ from its session. They go through :meth:`peek` and
    :meth:`peek_fullness`, which fix nothing.
    """

    def __init__(self, pacer: Any) -> None:
        self.pacer = pacer
        self.lock = threading.Lock()
        self._last: tuple[float, Any] | None = None  # the last (t_s, at(t_s)): each beat's time is asked several times

    def at(self, t_s: float) -> Any:
        with self.lock:
            last = self._last
            if last is not None and last[0] == t_s:
                return last[1]  # once asked, a breath is fixed: the same time gives the same state
            state = self.pacer.at(t_s)
            self._last = (t_s, state)
            return state

    def fullness_at(self, t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        with self.lock:
            return self.pacer.fullness_at(t_s)  # type: ignore[no-any-return]

    def peek(self, t_s: float) -> Any:
        """``at(t_s)`` for a display or the simulated person: no breath gets fixed by asking
        (:meth:`biofeedback.pacer.Pacer.peek`)."""
        with self.lock:
            return self.pacer.peek(t_s)

    def peek_fullness(self, t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``fullness_at(t_s)`` for the sound: no breath gets fixed by asking
        (:meth:`biofeedback.pacer.Pacer.peek_fullness`)."""
        with self.lock:
            return self.pacer.peek_fullness(t_s)  # type: ignore[no-any-return]

    def request(self, pace_bpm: float) -> None:
        with self.lock:
            self.pacer.request(pace_bpm)

    def request_pattern(self, pattern: Any) -> None:
        with self.lock:
            self.pacer.request_pattern(pattern)

    @property
    def pattern(self) -> Any:
        with self.lock:
            return self.pacer.pattern

    @property
    def onsets_s(self) -> npt.NDArray[np.float64]:
        with self.lock:
            return np.array(self.pacer.onsets_s, dtype=np.float64)

    @property
    def paces_bpm(self) -> npt.NDArray[np.float64]:
        with self.lock:
            return np.array(self.pacer.paces_bpm, dtype=np.float64)


class GuidePiece(Piece):
    """The processor of a training session: each plausible beat to the guide (coach, then pacer).

    A beat the live artefact check rejects (:class:`~biofeedback.live_artifacts.LiveArtefactFilter`)
    is not given to the coach; a gap of the beat chain is (``on_gap``), and restarts the check.
    It also keeps what the prompt shows of the heart: the recent accepted beats, and the
    swing of each whole breath the pacer showed.

    Parameters
    ----------
    guide : BreathGuide
        ``BreathGuide(controller, pacer)`` over the :class:`LockedPacer` ``pacer``.
    pacer : LockedPacer
    controller : Coach, FixedPace or SteppedProtocol
        The guide's controller (for its stage, reason, decisions).
    keep_s : float
        Seconds of accepted beats kept for the prompt.
    """

    def __init__(self, guide: Any, pacer: LockedPacer, controller: Any, *, keep_s: float = TRACE_S) -> None:
        self.guide = guide
        self.pacer = pacer
        self.controller = controller
        self.filter = LiveArtefactFilter()
        self.keep_s = keep_s
        self.beats_t_s: deque[float] = deque()  # accepted beats of the last keep_s (and the breath in progress)
        self.beats_rr_ms: deque[float] = deque()
        self.gaps: list[Gap] = []
        self.swings_t_s: deque[float] = deque(maxlen=SWING_HISTORY)
        self.swings_bpm: deque[float] = deque(maxlen=SWING_HISTORY)
        self.onsets_s: deque[float] = deque()  # inhale onsets seen, of the last keep_s
        self.inhale_ends_s: deque[float] = deque()
        self.n_beats = 0
        self._breath_index = -1  # the latest breath noted (onsets kept for the prompt)
        self._swing_breath = -1  # the breath whose swing is next to measure, and its onset
        self._swing_onset_s = 0.0

    # -- hooks ---------------------------------------------------------------------------
    def beat(self, beat: Beat) -> None:
        """Judge the beat; a plausible one goes to the guide, and into the prompt's heart data."""
        self.n_beats += 1
        if self.filter.accept(beat.rr_ms):
            state = self.guide.on_beat(beat.t_s, beat.rr_ms)  # the breath shown at the beat
            self.beats_t_s.append(beat.t_s)
            self.beats_rr_ms.append(beat.rr_ms)
        else:
            state = self.pacer.at(beat.t_s)  # fixed at a beat's time, as the store sink and a replay do
        self._note(state, beat.t_s)
        if state.breath_index != self._swing_breath:
            # the first beat of a new breath: the one before is whole (its last beat is in)
            if state.breath_index == self._swing_breath + 1 and self._swing_breath >= 0:
                self._breath_done(self._swing_onset_s, state.onset_s)
            self._swing_breath, self._swing_onset_s = state.breath_index, state.onset_s

    def event(self, event: SessionEvent) -> None:
        """A gap of the beat chain pauses the coach and restarts the artefact check."""
        if isinstance(event, Gap):
            self.guide.on_gap(event.start_s)
            self.filter.reset()
            self.gaps.append(event)

    # -- what the prompt reads -------------------------------------------------------------
    def note_breath(self, t_s: float) -> Any:
        """The breath shown at ``t_s`` (asked without fixing it, :meth:`LockedPacer.peek`); a new
        one's onset and inhale end are kept for the prompt."""
        return self._note(self.pacer.peek(t_s), t_s)

    def _note(self, state: Any, t_s: float) -> Any:
        if state.breath_index > self._breath_index:
            self._breath_index = state.breath_index
            self.onsets_s.append(state.onset_s)
            self.inhale_ends_s.append(state.onset_s + self._inhale_s(state))
            self._forget_before(t_s - self.keep_s)
        return state

    def _inhale_s(self, state: Any) -> float:
        at_onset = state if state.onset_s == state.t_s else self.pacer.peek(state.onset_s)
        return float(at_onset.part_left_s) if at_onset.part == "inhale" else 0.0

    def _breath_done(self, start_s: float, end_s: float) -> None:
        t = np.fromiter(self.beats_t_s, dtype=np.float64)
        inside = (t >= start_s) & (t < end_s)
        if np.count_nonzero(inside) < 2:
            return
        rr = np.fromiter(self.beats_rr_ms, dtype=np.float64)
        ends, swings = breath_swings_bpm(t, rr, [start_s, end_s], [g for g in self.gaps if g.end_s > start_s])
        if swings.size:
            self.swings_t_s.append(float(ends[-1]))
            self.swings_bpm.append(float(swings[-1]))

    def _forget_before(self, t_s: float) -> None:
        # keep the breath in progress whole, however long ago it began
        keep_from = min(t_s, self._swing_onset_s)
        while self.beats_t_s and self.beats_t_s[0] < keep_from:
            self.beats_t_s.popleft()
            self.beats_rr_ms.popleft()
        while len(self.onsets_s) > 2 and self.onsets_s[1] < t_s:
            self.onsets_s.popleft()
            self.inhale_ends_s.popleft()
        while self.gaps and self.gaps[0].end_s < t_s:
            self.gaps.pop(0)

    def heart_rate_bpm(self) -> float | None:
        """Of the mean of the last :data:`HR_BEATS` accepted intervals, beats/min; None before them."""
        if len(self.beats_rr_ms) < HR_BEATS:
            return None
        last = list(self.beats_rr_ms)[-HR_BEATS:]
        return 60000.0 / (sum(last) / HR_BEATS)


class DecisionSink(Piece):
    """Stores each decision of the coach as an event of kind ``coach``, as soon as it is made.

    ``store.add_event(sid, t_s, "coach", reason, stage=stage, data={"pace_bpm": ..., "code": ...})``,
    with the session id of ``store_sink`` (listed before this piece).
    """

    def __init__(self, store_sink: StoreSink, controller: Any) -> None:
        self.store_sink = store_sink
        self.controller = controller
        self.stored = 0

    def _flush(self) -> None:
        sid = self.store_sink.session_id
        if sid is None:
            return
        decisions = self.controller.decisions
        for d in decisions[self.stored:]:
            self.store_sink.store.add_event(sid, d.t_s, "coach", d.reason, stage=d.stage,
                                            data={"pace_bpm": float(d.pace_bpm), "code": d.code})
        self.stored = len(decisions)

    def begin(self, meta: RecordingMeta) -> None:
        self._flush()

    def beat(self, beat: Beat) -> None:
        self._flush()

    def event(self, event: SessionEvent) -> None:
        self._flush()

    def finish(self, recording: Recording) -> None:
        self._flush()


class AudioClock(Piece):
    """The session's "now" for the audio thread: a display piece that keeps the latest tick.

    The session's own estimate (:meth:`biofeedback.session.Session.now_s`) asks the source's
    clock, which belongs to the event loop's thread; PortAudio calls the sound's callback
    from a thread of its own. At each tick this piece keeps the session's beat-clock time and
    the monotonic time it was taken; :meth:`now_s` (any thread) continues from there at the
    source's ``speed``.
    """

    def __init__(self, speed: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.speed = speed
        self._clock = clock
        self._anchor: tuple[float, float] | None = None  # (beat-clock s, monotonic s) of the last tick

    def tick(self, t_s: float) -> None:
        self._anchor = (t_s, self._clock())  # one assignment: the audio thread sees the old pair or the new

    def now_s(self) -> float:
        """Beat-clock time now, s (0 before the first tick)."""
        anchor = self._anchor
        if anchor is None:
            return 0.0
        return anchor[0] + (self._clock() - anchor[1]) * self.speed


class PromptPiece(Piece):
    """The display of a training session: a :class:`PromptFrame` at every clock tick, to its screens.

    Parameters
    ----------
    guide : GuidePiece
        Where the pacer, the coach and the heart data are.
    screens : sequence of Screen
        What shows the frames (a terminal prompt, a window, a progress line).
    duration_s : float or None
        The session's length, s (for the time left).
    calm : CalmLines, optional
        The calm lines; None shows none.
    battery : callable
        The strap's battery level now, %, or None.
    traces : bool
        Fill the frame's heart-rate trace, breaths and swings (the window draws them).
    waiting_text : str
        The notice until the first beat ("connecting to the strap…" for a strap).
    """

    def __init__(self, guide: GuidePiece, screens: Sequence[Screen], *, duration_s: float | None = None,
                 calm: CalmLines | None = None, battery: Callable[[], int | None] = lambda: None,
                 traces: bool = False, waiting_text: str = "waiting for the first beat…") -> None:
        self.guide = guide
        self.screens = list(screens)
        self.duration_s = duration_s
        self.calm = calm
        self.battery = battery
        self.traces = traces
        self.reconnecting = False
        self.reconnect_text = waiting_text
        self.started = False
        self.frames = 0
        self.last_frame: PromptFrame | None = None

    def begin(self, meta: RecordingMeta) -> None:
        """The first beat: the waiting notice goes."""
        self.started = True
        if not self.reconnecting:
            self.reconnect_text = ""

    def event(self, event: SessionEvent) -> None:
        """Link lost: the reconnecting notice; restored: gone."""
        if isinstance(event, LinkEvent):
            self.reconnecting = event.kind == "lost"
            self.reconnect_text = "strap reconnecting…" if self.reconnecting else ""

    def tick(self, t_s: float) -> None:
        """Build the frame of ``t_s`` and show it on every screen."""
        frame = self.frame(t_s)
        self.last_frame = frame
        self.frames += 1
        for screen in self.screens:
            screen.show(frame)

    def frame(self, t_s: float) -> PromptFrame:
        """What the prompt shows at beat-clock time ``t_s``."""
        if self.duration_s is not None:
            t_s = min(t_s, self.duration_s)
        g = self.guide
        breath = g.note_breath(t_s)
        c = g.controller
        swings = np.fromiter(g.swings_bpm, dtype=np.float64)
        waiting = not self.started
        rest: dict[str, Any] = {}
        if self.traces:
            t = np.fromiter(g.beats_t_s, dtype=np.float64)
            rr = np.fromiter(g.beats_rr_ms, dtype=np.float64)
            rest = {"hr_t_s": t, "hr_bpm": 60000.0 / rr if rr.size else rr,
                    "breath_onsets_s": np.fromiter(g.onsets_s, dtype=np.float64),
                    "inhale_ends_s": np.fromiter(g.inhale_ends_s, dtype=np.float64),
                    "swings_t_s": np.fromiter(g.swings_t_s, dtype=np.float64), "swings_bpm": swings}
        return PromptFrame.of_breath(
            breath,
            heart_rate_bpm=g.heart_rate_bpm(),
            swing_bpm=float(swings[-1]) if swings.size else None,
            swing_trend_bpm=swing_trend_bpm(swings),
            swing_target_bpm=getattr(c, "swing_target_bpm", None),
            stage=str(getattr(c, "stage", "") or ""),
            reason=str(getattr(c, "reason", "") or ""),
            elapsed_s=t_s,
            remaining_s=None if self.duration_s is None else max(0.0, self.duration_s - t_s),
            battery_percent=self.battery(),
            corrected_share=g.filter.recent_share if g.filter.n_seen else None,
            reconnecting=waiting or self.reconnecting,
            reconnect_text=self.reconnect_text,
            calm_line="" if self.calm is None or waiting else self.calm.line_for(breath.breath_index),
            **rest,
        )
