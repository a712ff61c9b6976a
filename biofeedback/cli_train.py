"""``biofeedback train``, ``replay`` and ``demo``: a guided breathing session, end to end.

``train`` wires a :class:`~biofeedback.session.Session` from the pieces of
:mod:`biofeedback.training`: the source (a strap, the simulated person, an RR file), the
coach or a fixed pattern steering the pacer, the store (every frame, beat, gap, link event
and coach decision committed as it comes), and the prompt (terminal, window, the sound, or
one progress line). At the end it prints the summary (:mod:`biofeedback.display.outcome`)
and keeps it with the session. Ctrl-C (or closing the window, or Enter with
``--eyes-closed``) ends the session early: it is kept, marked ``incomplete``.

``replay`` runs a stored session (its raw strap frames, through the decoder again) or an RR
file through the same pipeline; a stored session is replayed with the settings it was
recorded with, and the coach's decisions are compared with the stored ones. ``demo`` is a
short ``train`` with the simulated person, faster than real time, then the summary and the
session plot.

Heavy libraries are imported inside the commands: building the parser imports none.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from biofeedback.cli_options import add_data_dir, add_force

if TYPE_CHECKING:
    from biofeedback.outcome import SessionOutcome
    from biofeedback.session import Session
    from biofeedback.sources.base import HeartRateSource
    from biofeedback.store import SessionStore
    from biofeedback.training import GuidePiece, LockedPacer

__all__ = ["TrainPlan", "TrainResult", "add_parsers", "run", "run_plan"]

log = logging.getLogger(__name__)

UIS: Final[tuple[str, ...]] = ("terminal", "window", "none", "sound")
DEMO_SEED: Final[int] = 1  # the demo's simulated person: the same every run
DEMO_MINUTES: Final[float] = 10.0
DEMO_SPEED: Final[float] = 100.0  # 10 minutes in 6 s
EYES_CLOSED_HINT: Final[str] = "Enter or Ctrl-C ends it"
MAX: Final[float] = math.inf  # --speed max


# ---------------------------------------------------------------------------- the parsers


def _positive(text: str) -> float:
    from biofeedback.cli import _positive as positive

    return positive(text)


def _speed(text: str) -> float:
    """``--speed``: a positive number, or ``max`` (as fast as the machine can: ``math.inf``)."""
    if text.strip().lower() == "max":
        return MAX
    return _positive(text)


def _share(text: str) -> float:
    value = _positive(text)
    if not value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a share between 0 and 1 (0.4: 40% of the breath in)")
    return value


def _percent(text: str) -> float:
    """``--target-drop``: a percentage of the starting heart rate, above 0 and below 100."""
    value = _positive(text)
    if not value < 100.0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a percentage below 100 (5: a drop of 5% of the "
                                         "starting heart rate)")
    return value


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ui", choices=UIS, help="the prompt: terminal, window, none (one progress line) or sound "
                   "(the sound leads, one dim line); default: window where a display exists, else terminal")
    p.add_argument("--speed", type=_speed, metavar="X|max",
                   help="for sim and files: times faster than real time, or max (default 1)")
    add_data_dir(p, "the data folder")


PATTERN_OPTIONS: Final[tuple[str, ...]] = ("preset", "target_drop", "inhale_share")  # replay ID takes none


def _add_pattern(p: argparse.ArgumentParser, *, replay: bool = False) -> None:
    """The pattern options. For ``replay`` they apply to an RR file only (a stored session is
    replayed with its own settings), and ``--preset`` has no default, so that giving it is seen."""
    only = "; an RR file only: a stored session keeps its own" if replay else ""
    p.add_argument("--preset", default=None if replay else "resonance", metavar="NAME",
                   help="resonance (default: the coach finds your pace), fixed:X (X breaths/min), 4-7-8, box, calm"
                   + only)
    p.add_argument("--target-drop", type=_percent, metavar="PCT",
                   help="the heart-rate drop to reach, %% of the starting heart rate (default: the coach's, 5)" + only)
    p.add_argument("--inhale-share", type=_share, metavar="X",
                   help="share of each breath spent breathing in (default: the preset's, 0.4)" + only)


def add_parsers(sub: Any) -> None:
    """Register ``train``, ``replay`` and ``demo`` on the CLI's subparsers."""
    p = sub.add_parser("train", help="a guided breathing session: the coach finds your pace, every beat is kept")
    p.add_argument("--source", default="ble", metavar="ble|sim|sim:SEED|FILE",
                   help="a strap (default), the simulated person (with a seed: the same person each time), "
                   "or an RR file")
    p.add_argument("--device", metavar="D", help="the strap's address or part of its name, as for record")
    p.add_argument("--minutes", type=_positive, default=10.0, metavar="N",
                   help="session length on the beat clock (default 10)")
    p.add_argument("--timeout", type=_positive, default=10.0, metavar="S",
                   help="seconds to look for the strap (default 10)")
    _add_pattern(p)
    _add_common(p)
    p.add_argument("--sound", action="store_true", help="also play the breathing sound (needs biofeedback[sound])")
    p.add_argument("--eyes-closed", action="store_true",
                   help="the sound leads, the screen shows one dim line (= --ui sound); Ctrl-C or Enter ends")
    rating = p.add_mutually_exclusive_group()
    rating.add_argument("--no-rating", action="store_true", help="do not ask for pain and tension before and after")
    rating.add_argument("--rate", action="store_true", help="ask for the ratings even with --ui none or off a terminal")
    p.set_defaults(subparser=p)

    p = sub.add_parser("replay", help="run a stored session or an RR file through the coach and prompt again",
                       description="Run a stored session (its strap frames, through the decoder again) or an RR "
                       "file through the coach and prompt again. A stored session is replayed with the settings "
                       "it was recorded with (its preset, target drop, inhale share and starting pace), and the "
                       "coach's decisions are compared with those it made then; --preset, --target-drop and "
                       "--inhale-share are for an RR file only.")
    p.add_argument("what", metavar="SESSION_ID|FILE",
                   help="a session id ('biofeedback sessions' lists them), or an RR file")
    p.add_argument("--minutes", type=_positive, metavar="N", help="replay only the first N minutes")
    _add_pattern(p, replay=True)
    _add_common(p)
    p.set_defaults(subparser=p)

    p = sub.add_parser("demo", help="a short session with the simulated person (no strap), faster than real time, "
                       "then its summary and plot")
    p.add_argument("--minutes", type=_positive, default=DEMO_MINUTES, metavar="N",
                   help=f"session length (default {DEMO_MINUTES:g})")
    p.add_argument("--seed", type=int, default=DEMO_SEED, metavar="N",
                   help=f"which simulated person (default {DEMO_SEED})")
    p.add_argument("--plot", type=Path, metavar="FILE.png",
                   help="where to draw the session (default: a new demo-DATE-TIME.png in the data folder)")
    add_force(p)
    _add_pattern(p)
    _add_common(p)
    p.set_defaults(subparser=p, speed=None)


# ---------------------------------------------------------------------------- the plan


@dataclass
class TrainPlan:
    """What one guided session is asked to do (from the options, or a stored session's settings)."""

    source: str = "ble"  # ble | sim | sim:SEED | FILE | stored:ID
    device: str | None = None
    timeout_s: float = 10.0
    minutes: float | None = 10.0
    ui: str = "none"
    preset: str = "resonance"
    target_drop_pct: float | None = None
    inhale_share: float | None = None
    speed: float | None = 1.0  # None: as fast as possible
    sound: bool = False
    data_dir: Path | None = None
    store: bool = True  # keep the session in the store (a replay does not)
    start_pace_bpm: float | None = None  # the coach's start; None: from_recent decides
    from_recent: bool = True  # without start_pace_bpm, start from the person's recent resonance pace
    seed: int | None = None


@dataclass
class TrainResult:
    """What a run gives back."""

    session: Session
    controller: Any
    pacer: LockedPacer
    guide: GuidePiece
    outcome: SessionOutcome | None
    session_id: int | None = None
    ended_early: bool = False
    store_path: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _store_path(data_dir: Path | None) -> Path:
    from biofeedback.paths import data_dir as default_dir
    from biofeedback.paths import store_path

    folder = data_dir.expanduser() if data_dir is not None else default_dir()
    if data_dir is not None:
        from biofeedback.errors import FileFormatError

        if folder.exists() and not folder.is_dir():
            raise FileFormatError(f"--data-dir {folder} is a file, not a folder; give a folder")
    return store_path(folder)


def _controller_and_pacer(plan: TrainPlan) -> tuple[Any, Any, dict[str, Any]]:
    """The controller, the pacer it steers, and the settings that rebuild them (for a replay)."""
    from biofeedback.pacer import DEFAULT_MAX_STEP_BPM, Pacer, parse_preset
    from biofeedback.protocols import FixedPace

    preset = parse_preset(plan.preset)
    pattern = preset.pattern
    if plan.inhale_share is not None:
        pattern = dataclasses.replace(pattern, inhale_share=plan.inhale_share)
    options = dict(preset.coach_options)
    start = plan.start_pace_bpm if preset.adaptive and not options.get("start_from_own_rate") else None
    controller: Any
    if preset.adaptive:
        from biofeedback.coach import Coach

        kwargs: dict[str, Any] = dict(options)
        if start is not None:
            kwargs["start_pace_bpm"] = start
            pattern = pattern.at_pace(start)
        if plan.target_drop_pct is not None:
            kwargs["target_drop_pct"] = plan.target_drop_pct
        controller = Coach(**kwargs)
        settle = getattr(getattr(controller, "options", None), "settle_pace_bpm", None)
        if settle is not None:  # the first breath already at the pace the coach shows while you settle
            pattern = pattern.at_pace(float(settle))
    else:
        controller = FixedPace(pattern.pace_bpm)
    max_step = float(options.get("max_step_bpm", DEFAULT_MAX_STEP_BPM))
    pacer = Pacer(pattern, max_step_bpm=max_step)
    settings = {"preset": preset.name, "adaptive": preset.adaptive, "start_pace_bpm": start,
                "target_drop_pct": plan.target_drop_pct, "inhale_share": plan.inhale_share,
                "pattern": dataclasses.asdict(pattern), "max_step_bpm": max_step}
    return controller, pacer, settings


def _source(plan: TrainPlan, pacer: LockedPacer, store: SessionStore | None, out: TextIO) -> HeartRateSource:
    from biofeedback.errors import InvalidInputError

    text = plan.source
    speed = plan.speed
    if text == "ble":
        from biofeedback.sources.ble import BleSource

        return BleSource(plan.device, scan_timeout_s=plan.timeout_s)
    if text == "sim" or text.startswith("sim:"):
        from biofeedback.sources.simulated import SimulatedSource

        seed = plan.seed
        if seed is None:
            raise InvalidInputError("the simulated person needs a seed")  # set by the caller from the text
        # the person looks ahead of the coach (a notification's beats are made before the coach has
        # any of them): through peek, so that only the beat times fix the breaths, as in a replay
        return SimulatedSource(seed=seed, sees=pacer.peek, speed=speed, minutes=plan.minutes)
    if text.startswith("stored:"):
        from biofeedback.sources.stored import StoredSessionSource

        assert store is not None
        return StoredSessionSource(store, int(text.removeprefix("stored:")), speed=speed)
    from biofeedback.formats import read_rr_file
    from biofeedback.sources.replay import ReplaySource

    path = Path(text)
    rr_ms = read_rr_file(path)
    print(f"Playing {path} ({len(rr_ms)} beats) "
          + ("as fast as possible" if speed is None else f"at {speed:g}x real time"), file=out)
    return ReplaySource(rr_ms, speed=speed, kind=f"replay:{path.name}")


def _battery(source: HeartRateSource, kind: str) -> Callable[[], int | None]:
    if kind != "ble":  # only a strap has a battery (and only then is bleak loaded)
        return lambda: None
    from biofeedback.cli import _ble_of

    ble = _ble_of(source)
    if ble is None:
        return lambda: None
    return lambda: ble.battery_percent


@contextlib.contextmanager
def _enter_ends(session: Session) -> Iterator[None]:
    """While open, the Enter key ends the session early (eyes-closed practice), when stdin is a terminal."""
    try:
        fd = sys.stdin.fileno()
        tty = os.isatty(fd)
    except (AttributeError, OSError, ValueError):
        tty = False
    if not tty:
        yield
        return
    loop = asyncio.get_running_loop()

    def on_key() -> None:
        data = os.read(fd, 1024)
        if not data or b"\n" in data or b"\r" in data:
            loop.remove_reader(fd)
            session.stop()

    loop.add_reader(fd, on_key)
    try:
        yield
    finally:
        loop.remove_reader(fd)


async def run_plan(plan: TrainPlan, out: TextIO, *, before: dict[str, int] | None = None,
                   store: SessionStore | None = None) -> TrainResult:
    """Run one guided session as planned; the session is finished in the store however it ends.

    ``before``: ratings given before the session, stored with it. ``store``: an open store
    (default: the data folder's, opened here and closed at the end).
    """
    from biofeedback.cli import _stop_on_signals
    from biofeedback.display.calm import CalmLines
    from biofeedback.guide import BreathGuide
    from biofeedback.outcome import session_outcome
    from biofeedback.pieces import Piece
    from biofeedback.session import Session
    from biofeedback.store import SessionStore
    from biofeedback.store.sink import StoreSink
    from biofeedback.training import AudioClock, DecisionSink, GuidePiece, LockedPacer, PromptPiece

    with contextlib.ExitStack() as stack:
        wants_recent = plan.start_pace_bpm is None and plan.from_recent
        if store is None and (plan.store or wants_recent or plan.source.startswith("stored:")):
            store = stack.enter_context(SessionStore(_store_path(plan.data_dir)))
        if wants_recent:
            assert store is not None
            plan.start_pace_bpm = store.recent_resonance_bpm()
        controller, raw_pacer, settings = _controller_and_pacer(plan)
        pacer = LockedPacer(raw_pacer)
        step = BreathGuide(controller, pacer)  # type: ignore[arg-type]  # LockedPacer: the Pacer, under a lock
        guide = GuidePiece(step, pacer, controller)
        source = _source(plan, pacer, store, out)
        kind = source.info().kind
        if plan.seed is not None and (plan.source == "sim" or plan.source.startswith("sim:")):
            kind = f"sim:{plan.seed}"  # which person: enough to run the same session again
        settings.update(source=kind, minutes=plan.minutes, ui=plan.ui, sound=plan.sound,
                        speed="max" if plan.speed is None else plan.speed, seed=plan.seed)
        sinks: list[Piece] = []
        store_sink: StoreSink | None = None
        if plan.store:
            assert store is not None
            store_sink = StoreSink(store, settings, pacer=pacer)
            sinks = [store_sink, DecisionSink(store_sink, controller)]
        duration_s = None if plan.minutes is None else plan.minutes * 60.0
        calm = CalmLines.for_person(plan.data_dir) if plan.ui != "none" else None
        prompt = PromptPiece(guide, [], duration_s=duration_s, calm=calm, battery=_battery(source, plan.source),
                             traces=plan.ui == "window",
                             waiting_text="connecting to the strap…" if plan.source == "ble" else
                             "waiting for the first beat…")
        displays: list[Piece] = [prompt]
        audio_clock: AudioClock | None = None
        if plan.sound or plan.ui == "sound":
            audio_clock = AudioClock(speed=source.info().speed)
            displays.append(audio_clock)
        session = Session(source, processors=[guide], sinks=sinks, displays=displays, duration_s=duration_s)
        result = TrainResult(session, controller, pacer, guide, None, settings=settings,
                             store_path=store.path if store is not None and plan.store else None)

        screens: list[Any] = []
        if audio_clock is not None:
            from biofeedback.display.sound import SoundPrompt

            stack.enter_context(SoundPrompt(pacer.peek_fullness, audio_clock.now_s, speed=audio_clock.speed))
        if plan.ui == "window":
            from biofeedback.display.window import WindowPrompt

            screens.append(stack.enter_context(WindowPrompt(on_close=session.stop)))
        elif plan.ui in ("terminal", "sound"):
            from biofeedback.display.terminal import TerminalPrompt  # rich: only for a prompt

            screens.append(stack.enter_context(TerminalPrompt() if plan.ui == "terminal" else
                                               TerminalPrompt(mode="minimal", hint=EYES_CLOSED_HINT)))
        else:
            from biofeedback.display.progress import ProgressLine

            screens.append(stack.enter_context(ProgressLine(out)))
        prompt.screens = screens

        cancelled = False
        try:
            with _stop_on_signals(session), (_enter_ends(session) if plan.ui == "sound"
                                             else contextlib.nullcontext()):
                if plan.speed is None and store is not None and plan.store:
                    with store.batch():
                        await session.run()
                else:
                    await session.run()
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            result.ended_early = cancelled or session.stop_requested
            rec = session.recording()
            if rec.n_beats:
                result.outcome = session_outcome(
                    rec, pacer.onsets_s, baseline_hr_bpm=controller.baseline_hr_bpm,
                    resonance_bpm=controller.resonance_bpm, n_decisions=len(controller.decisions),
                    ended_early=result.ended_early)
            if store is not None and store_sink is not None and store_sink.session_id is not None:
                result.session_id = store_sink.session_id
                store.finish_session(store_sink.session_id,
                                     None if result.outcome is None else result.outcome.summary(),
                                     complete=not result.ended_early)
                if before:
                    store.set_ratings(store_sink.session_id, **before)
        return result


def _report(result: TrainResult, out: TextIO) -> None:
    from biofeedback.display.outcome import outcome_lines

    print(file=out)
    if result.outcome is not None:
        for line in outcome_lines(result.outcome):
            print(line, file=out)
    if result.session_id is not None:
        print(f"Kept as session {result.session_id} in {result.store_path}.", file=out)


# ---------------------------------------------------------------------------- the commands


def _default_ui(out: TextIO) -> str:
    from biofeedback.display.window import display_available

    if display_available():
        return "window"
    return "terminal" if out.isatty() else "none"


def _check_ui(args: argparse.Namespace, out: TextIO) -> str:
    ui: str = args.ui or ("sound" if getattr(args, "eyes_closed", False) else _default_ui(out))
    if getattr(args, "eyes_closed", False) and ui != "sound":
        args.subparser.error("--eyes-closed is --ui sound; give one of them")
    return ui


def _check_preset(args: argparse.Namespace) -> None:
    """A wrong preset is a wrong option: one line, exit 2, before anything starts."""
    from biofeedback.errors import InvalidInputError
    from biofeedback.pacer import parse_preset

    try:
        parse_preset(args.preset)
    except InvalidInputError as exc:
        args.subparser.error(f"--preset: {exc}")


def _plan_speed(args: argparse.Namespace, source: str) -> float | None:
    if args.speed is None:
        return 1.0
    if source == "ble":
        args.subparser.error("--speed is for sim and files: a strap plays in real time")
    return None if math.isinf(args.speed) else float(args.speed)


def _seed(text: str, subparser: argparse.ArgumentParser) -> int | None:
    if text == "sim":
        return int.from_bytes(os.urandom(3), "big")
    if text.startswith("sim:"):
        try:
            return int(text.removeprefix("sim:"))
        except ValueError:
            subparser.error(f"--source {text}: the seed after 'sim:' must be a whole number, e.g. sim:7")
    return None


def _nothing_recorded(result: TrainResult) -> int:
    from biofeedback.cli import NOTHING_RECORDED

    if result.session.beats:
        return 0
    print(f"biofeedback: {NOTHING_RECORDED}.", file=sys.stderr)
    return 1


def _train(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback.display.rating import rating_asker, rating_lines
    from biofeedback.ratings import Ratings

    ui = _check_ui(args, out)
    _check_preset(args)
    if args.sound or ui == "sound":
        from biofeedback.display.sound import load_sounddevice

        load_sounddevice()
        if args.speed is not None and math.isinf(args.speed):
            args.subparser.error("--sound plays in real time or at a --speed X, not at max")
    source = args.source
    if source not in ("ble", "sim") and not source.startswith("sim:"):
        if not Path(source).is_file():
            args.subparser.error(f"--source {source}: no such file; give ble, sim, sim:SEED or an RR file")
    if args.device is not None and source != "ble":
        args.subparser.error(f"--device is for a strap (--source ble), not --source {source}")
    plan = TrainPlan(source=source, device=args.device, timeout_s=args.timeout, minutes=args.minutes, ui=ui,
                     preset=args.preset, target_drop_pct=args.target_drop, inhale_share=args.inhale_share,
                     speed=_plan_speed(args, source), sound=args.sound or ui == "sound", data_dir=args.data_dir,
                     seed=_seed(source, args.subparser))
    ask = rating_asker(ui, no_rating=args.no_rating, rate=args.rate)
    before = ask("before")
    result = asyncio.run(run_plan(plan, out, before=before))
    _report(result, out)
    if result.session_id is not None and result.session.beats:
        after = ask("after")
        if after:
            from biofeedback.store import SessionStore

            with SessionStore(_store_path(plan.data_dir)) as store:
                store.set_ratings(result.session_id, **after)
                lines = rating_lines(Ratings.of(store.session(result.session_id)))
            for line in lines:
                print(line, file=out)
    return _nothing_recorded(result)


def _replay(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback.store import SessionStore

    ui = _check_ui(args, out)
    speed = 1.0 if args.speed is None else (None if math.isinf(args.speed) else float(args.speed))
    what: str = args.what
    if what.isdigit():
        given = [f"--{name.replace('_', '-')}" for name in PATTERN_OPTIONS if getattr(args, name) is not None]
        if given:
            args.subparser.error(f"{' and '.join(given)}: a stored session is replayed with the settings it was "
                                 "recorded with; these options are for an RR file")
        sid = int(what)
        with SessionStore(_store_path(args.data_dir)) as store:
            stored = store.session(sid)
            s = stored.settings
            minutes = args.minutes if args.minutes is not None else s.get("minutes")
            plan = TrainPlan(source=f"stored:{sid}", minutes=minutes, ui=ui, preset=s.get("preset", "resonance"),
                             target_drop_pct=s.get("target_drop_pct"), inhale_share=s.get("inhale_share"),
                             speed=speed, data_dir=args.data_dir, store=False,
                             start_pace_bpm=s.get("start_pace_bpm"), from_recent=False)
            recorded = [(e.t_s, e.data.get("pace_bpm"), e.stage, e.data.get("code"), e.detail)
                        for e in store.events(sid, "coach")]
            print(f"Replaying session {sid} ({stored.n_beats} beats, preset {plan.preset}) "
                  + ("as fast as possible" if speed is None else f"at {speed:g}x real time"), file=out)
            result = asyncio.run(run_plan(plan, out, store=store))
        _report(result, out)
        limit_s = None if args.minutes is None else args.minutes * 60.0
        if limit_s is not None:
            recorded = [d for d in recorded if d[0] <= limit_s]
        again = [(d.t_s, d.pace_bpm, d.stage, d.code, d.reason) for d in result.controller.decisions]
        if again == recorded:
            print(f"The coach made the same {len(again)} decisions as when it was recorded, beat for beat.", file=out)
        else:
            first = next((i for i, (a, b) in enumerate(zip(again, recorded, strict=False)) if a != b),
                         min(len(again), len(recorded)))
            print(f"The coach decided differently from the recording: {len(again)} decisions against "
                  f"{len(recorded)}, the first difference at decision {first + 1}.", file=out)
        return _nothing_recorded(result)
    if not Path(what).is_file():
        args.subparser.error(f"{what}: neither a session id nor a file")
    if args.preset is None:
        args.preset = "resonance"
    _check_preset(args)
    plan = TrainPlan(source=what, minutes=args.minutes, ui=ui, preset=args.preset,
                     target_drop_pct=args.target_drop, inhale_share=args.inhale_share, speed=speed,
                     data_dir=args.data_dir, store=False, from_recent=False)
    result = asyncio.run(run_plan(plan, out))
    _report(result, out)
    return _nothing_recorded(result)


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback.formats import check_writable
    from biofeedback.paths import new_file, private_folder

    ui = _check_ui(args, out) if args.ui is not None else "none"
    _check_preset(args)
    speed = DEMO_SPEED if args.speed is None else (None if math.isinf(args.speed) else float(args.speed))
    folder = _store_path(args.data_dir).parent
    if args.plot is None:  # the plot goes beside the store: a new --data-dir is made now, as train would make it
        private_folder(folder, f"the data folder {folder}", "give --data-dir a folder you can write")
    plot: Path = args.plot if args.plot is not None else new_file("demo", ".png", folder=folder)
    check_writable(plot, force=args.force)
    plan = TrainPlan(source=f"sim:{args.seed}", minutes=args.minutes, ui=ui, preset=args.preset,
                     target_drop_pct=args.target_drop, inhale_share=args.inhale_share, speed=speed,
                     data_dir=args.data_dir, seed=args.seed)
    print(f"The demo: {args.minutes:g} minutes with a simulated person (seed {args.seed}, no strap), "
          + ("as fast as possible." if speed is None else f"at {speed:g}x real time."), file=out)
    result = asyncio.run(run_plan(plan, out))
    _report(result, out)
    code = _nothing_recorded(result)
    if code:
        return code
    _plot(result, plot)
    print(f"Plot written to {plot}", file=out)
    return 0


def _plot(result: TrainResult, path: Path) -> None:
    """The stored session's figure (as ``biofeedback plot ID`` draws it), written to ``path``."""
    from biofeedback.cli_history import _stored_figures
    from biofeedback.plots import save_figure, session_figure
    from biofeedback.store import SessionStore

    assert result.store_path is not None and result.session_id is not None
    with SessionStore(result.store_path) as store:
        summary, figures, pace, phase, changes = _stored_figures(store, result.session_id)
    save_figure(session_figure(summary, figures=figures, pace_bpm=pace, phase=phase, changes=changes), path)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``train``, ``replay`` or ``demo`` (``args.command``)."""
    if args.command == "train":
        return _train(args, out)
    if args.command == "replay":
        return _replay(args, out)
    return _demo(args, out)
