"""The ``biofeedback`` command.

Every user mistake (a wrong option, a broken file, a missing strap) ends in one line on
stderr and a non-zero exit code, never a traceback. Ctrl-C, SIGTERM and SIGHUP end a
recording cleanly (notifications stopped, the strap disconnected) with exit code 0 and
everything recorded so far kept; a recording that recorded nothing exits with 1.

The commands parse options, build the pieces of a session
(:class:`biofeedback.session.Session`: a source, sinks, displays) and report; heavy
libraries are imported inside the command that needs them: printing the help imports none
of numpy, scipy, matplotlib or bleak. A closed pipe on stdout (``biofeedback show FILE |
head -n 1``) ends quietly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from biofeedback import __version__, cli_history
from biofeedback.cli_options import add_data_dir, add_force
from biofeedback.errors import BiofeedbackError

if TYPE_CHECKING:
    from biofeedback.session import Session
    from biofeedback.sources.base import HeartRateSource
    from biofeedback.sources.ble import BleSource

log = logging.getLogger("biofeedback")

NOT_A_MEDICAL_DEVICE = (
    "biofeedback is not a medical device. It is for relaxation and breathing practice only; "
    "it does not diagnose or treat anything. If you have symptoms, see a clinician."
)
DEMO_RR_FILE = "polarh10_slow_breathing.txt"  # a real Polar H10 session shipped in biofeedback/data (a copy of sample_data/'s)
NOTHING_RECORDED = (
    "No beats recorded: check that the strap is worn with wet electrodes and in range "
    "('biofeedback scan' lists it), then try again"
)
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # each ends a recording as Ctrl-C does
RESONANCE_SESSIONS = 5  # track --resonance: the median of the last this many sessions that found one


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="biofeedback",
        description="HRV-biofeedback breathing trainer for Bluetooth LE heart-rate chest straps. "
        "Not a medical device.",
    )
    parser.add_argument("--version", action="version", version=f"biofeedback {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("scan", help="list heart-rate straps in range")
    p.add_argument("--timeout", type=_positive, default=5.0, metavar="S", help="seconds to scan (default 5)")

    p = sub.add_parser("record", help="record a session from a strap (no pacer)")
    p.add_argument("--device", metavar="D", help="address or part of the name (default: the only strap in range)")
    p.add_argument("--minutes", type=_positive, metavar="N", help="stop after N minutes of beats (default: Ctrl-C)")
    p.add_argument("--out", type=Path, metavar="FILE.csv",
                   help="write the beats as CSV (t_s, rr_ms, flags; gaps and where from in # lines)")
    p.add_argument("--timeout", type=_positive, default=10.0, metavar="S",
                   help="seconds to look for the strap (default 10)")
    _add_emulation(p)
    add_force(p)
    p.set_defaults(subparser=p)

    from biofeedback import cli_train

    cli_train.add_parsers(sub)  # train, replay, demo

    p = sub.add_parser("show", help="HRV of a recording (RR text file or beat CSV) or of a stored session (its ID), "
                       "with an optional plot")
    p.add_argument("file", type=Path, metavar="FILE|ID",
                   help="RR file: one interval in ms per line, or a CSV with an rr_ms column; or a stored session's id")
    p.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw the session to this image")
    add_force(p)
    cli_history.add_show_options(p)
    cli_history.add_parsers(sub)

    p = sub.add_parser("track", help="write a breathing-guide audio track (WAV) to play with no strap and no computer")
    pace = p.add_mutually_exclusive_group(required=True)
    pace.add_argument("--pace", type=_pace, metavar="X", help="breaths per minute, from 1 to 60")
    pace.add_argument("--resonance", action="store_true",
                      help="your resonance pace: the median of your last complete training sessions that found one")
    pace.add_argument("--preset", metavar="P",
                      help="a fixed breathing pattern: fixed:X, 4-7-8 or box (resonance and calm adapt to your "
                      "heart during 'train'; a track cannot)")
    p.add_argument("--inhale-share", type=_positive, metavar="X",
                   help="share of each breath spent breathing in (default 0.4, or the preset's)")
    p.add_argument("--minutes", type=_positive, default=10.0, metavar="N", help="length of the track (default 10)")
    add_data_dir(p, "with --resonance: the data folder")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="FILE.wav", help="the WAV file to write")
    add_force(p)
    p.set_defaults(subparser=p)

    p = sub.add_parser("calm-lines", help="keep your own calm lines for the prompt and the sound mode (a text file, "
                       "one short line a line)")
    p.add_argument("file", type=Path, nargs="?", metavar="FILE",
                   help="UTF-8 text, one line each (at most 60 characters; blank lines and # comments skipped)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--show", action="store_true", help="print the calm lines in use (also with no FILE)")
    what.add_argument("--reset", action="store_true", help="forget your lines: the default ones are used again")
    add_data_dir(p, "the data folder")
    p.set_defaults(subparser=p)
    from biofeedback import cli_interchange

    cli_interchange.add_parsers(sub)
    return parser


def _add_emulation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--emulate", type=Path, metavar="RR_FILE",
                   help="no strap: an emulated strap on a private D-Bus bus plays this RR file")
    p.add_argument("--speed", type=_positive, metavar="X",
                   help="with --emulate: times faster than real time (default 1)")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _pace(text: str) -> float:
    """A pace a person can breathe, breaths/min: the range of the ``fixed:X`` preset."""
    from biofeedback.pacer import FIXED_PACE_RANGE_BPM, fixed_pace_bpm

    pace = fixed_pace_bpm(text)
    if pace is None:
        low, high = FIXED_PACE_RANGE_BPM
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of breaths/min from {low:g} to {high:g}")
    return pace


# ---------------------------------------------------------------------------- commands


async def _scan(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback.sources.scan import scan

    straps = await scan(timeout_s=args.timeout)
    if not straps:
        print(f"No heart-rate strap found in {args.timeout:g} s. Wear the strap (wet the electrodes) "
              "and try again.", file=sys.stderr)
        return 1
    print(f"{'name':<28} {'address':<18} signal", file=out)
    for s in straps:
        rssi = f"{s.rssi_dbm} dBm" if s.rssi_dbm is not None else "?"
        print(f"{s.name:<28} {s.address:<18} {rssi}", file=out)
    return 0


def _report(session: Session, out_path: Path | None, out: TextIO) -> None:
    """What a recording kept: the strap, beats, gaps, link losses, the file."""
    from biofeedback._words import plural
    from biofeedback.display.summary import mm_ss

    ble = _ble_of(session.source)
    if ble is not None and ble.strap is not None:
        battery = f", battery {ble.battery_percent}%" if ble.battery_percent is not None else ""
        print(f"Strap: {ble.strap.name} ({ble.strap.address}){battery}; "
              f"{plural(ble.malformed_frames, 'malformed notification')} skipped.", file=out)
    rec = session.recording()
    losses = sum(1 for e in rec.link_events if e.kind == "lost")
    print(f"Recorded {rec.n_beats} beats over {mm_ss(rec.duration_s)} (mm:ss); "
          f"{plural(len(rec.gaps), 'gap')} totalling {rec.gap_total_s:.1f} s; "
          f"{plural(losses, 'link loss', 'link losses')}.", file=out)
    if out_path is not None and rec.n_beats:
        print(f"Beats written to {out_path}", file=out)


def _ble_of(source: HeartRateSource) -> BleSource | None:
    """The BLE source behind ``source`` (itself, or an emulated strap's reader), if any."""
    from biofeedback.sources.ble import BleSource

    if isinstance(source, BleSource):
        return source
    inner = getattr(source, "ble", None)  # an EmulatedSource's reader
    return inner if isinstance(inner, BleSource) else None


@contextlib.contextmanager
def _stop_on_signals(session: Session) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP stop the session as its end would; a second one cancels it."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    installed: list[tuple[signal.Signals, Any]] = []  # and the handler each had before

    def on_signal(sig: signal.Signals) -> None:
        if session.stop_requested and task is not None:
            log.warning("%s again: stopping now", sig.name)
            task.cancel()
        else:
            log.info("%s: ending the recording", sig.name)
            session.stop()

    for name in STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        previous = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, on_signal, sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or not on this system
            continue
        installed.append((sig, previous))
    try:
        yield
    finally:
        for sig, previous in installed:
            loop.remove_signal_handler(sig)
            if previous is not None:
                signal.signal(sig, previous)


async def _run_session(source: HeartRateSource, out_path: Path | None, duration_s: float | None,
                       out: TextIO) -> int:
    """Record from ``source`` into the beat CSV with the status line; report what was kept."""
    from biofeedback.display.status import RecordStatus
    from biofeedback.formats import BeatCsvSink
    from biofeedback.pieces import Piece
    from biofeedback.session import Session

    sinks: list[Piece] = [BeatCsvSink(out_path)] if out_path is not None else []
    session = Session(source, sinks=sinks, displays=[RecordStatus(out)], duration_s=duration_s)
    report = False  # at the end or at a signal, not after an error
    try:
        with _stop_on_signals(session):
            await session.run()
        report = True
    except asyncio.CancelledError:  # a second signal
        report = True
        raise
    finally:
        if report:
            _report(session, out_path, out)
    if not session.beats:
        not_written = f" ({out_path} not written)" if out_path is not None else ""
        print(f"biofeedback: {NOTHING_RECORDED}{not_written}.", file=sys.stderr)
        return 1
    return 0


def _emulated_source(rr_file: Path, speed: float, timeout_s: float, out: TextIO) -> HeartRateSource:
    from biofeedback.errors import EmulatorError
    from biofeedback.formats import read_rr_file

    try:
        from biofeedback.sources.emulated import EmulatedSource
    except ImportError as exc:  # the emulated BlueZ serves D-Bus with dbus-fast (Linux)
        raise EmulatorError(f"the emulated strap cannot load {exc.name or 'dbus_fast'}: it needs "
                            "the Python package dbus-fast and Linux (`pip install dbus-fast`)") from exc
    rr_ms = read_rr_file(rr_file)
    source = EmulatedSource(rr_ms, speed=speed, scan_timeout_s=timeout_s)
    print(f"Emulated strap '{source.strap.name}' plays {rr_file} ({len(rr_ms)} beats) "
          f"at {speed:g}x real time", file=out)
    return source


async def _record(args: argparse.Namespace, out: TextIO) -> int:
    """Record from a strap (or an emulated one); report at the end, or at a signal, what was kept."""
    from biofeedback.formats import check_writable

    duration_s = args.minutes * 60.0 if args.minutes else None
    if args.out is not None:
        check_writable(args.out, force=args.force)
    source: HeartRateSource
    if args.emulate is not None:
        source = _emulated_source(args.emulate, 1.0 if args.speed is None else args.speed, args.timeout, out)
    else:
        from biofeedback.sources.ble import BleSource

        source = BleSource(args.device, scan_timeout_s=args.timeout)
    return await _run_session(source, args.out, duration_s, out)


def _show(path: Path, plot: Path | None, out: TextIO, *, force: bool = False) -> int:
    from biofeedback.analysis import summarise
    from biofeedback.display.summary import format_summary
    from biofeedback.formats import check_writable, read_recording

    if plot is not None:
        check_writable(plot, force=force)
    summary = summarise(read_recording(path))
    print(f"HRV of {path} (after artefact correction):", file=out)
    for line in format_summary(summary):
        print("  " + line, file=out)
    if plot is not None:
        from biofeedback.plots import save_figure, session_figure

        save_figure(session_figure(summary), plot)
        print(f"Plot written to {plot}", file=out)
    return 0


def _track(args: argparse.Namespace, out: TextIO) -> int:
    import dataclasses

    from biofeedback.display.summary import mm_ss
    from biofeedback.pacer import BreathPattern, Pacer, parse_preset
    from biofeedback.track import TRACK_RATE_HZ, write_track

    if args.preset is not None:
        pattern, where = _track_preset(args)
    elif args.resonance:
        pace_bpm, where = _stored_resonance(args.data_dir)
        pattern = BreathPattern(pace_bpm)
    else:
        pattern, where = BreathPattern(args.pace), f"{_bpm_text(args.pace)} breaths/min, as you gave it"
    if args.inhale_share is not None:
        pattern = dataclasses.replace(pattern, inhale_share=args.inhale_share)
        if args.preset is not None:  # the preset's own description no longer holds
            where = (f"{_bpm_text(pattern.pace_bpm)} breaths/min, the preset {parse_preset(args.preset).name} with "
                     f"{pattern.inhale_share:.0%} of the breathing in: {_parts_text(pattern)}")
    pace_text = _bpm_text(pattern.pace_bpm)
    print(f"Pace: {where}", file=out)  # before the render: a long track takes a while
    pacer = Pacer(pattern)
    try:
        n = write_track(args.out, pacer.fullness_at, args.minutes * 60.0, force=args.force)
    except KeyboardInterrupt:  # write_track removed its partial file; an earlier FILE is untouched
        print(f"interrupted: nothing written ({args.out} left as it was)", file=sys.stderr)
        return 130
    print(f"Wrote {args.out}: {mm_ss(n / TRACK_RATE_HZ)} of breathing at {pace_text} breaths/min "
          f"({pattern.inhale_share:.0%} in). Play it on anything; breathe in as it rises.", file=out)
    return 0


def _bpm_text(pace_bpm: float) -> str:
    """A pace for a person to read: at most two decimals (5.5, 5.25, 3.16)."""
    return f"{round(pace_bpm, 2):g}"


def _parts_text(pattern: Any) -> str:
    """A breath's parts for a person to read: "6 s in, hold 4 s, 2 s out, hold 4 s" (empty holds left out)."""
    s = [f"{round(x, 1):g}" for x in (pattern.inhale_s, pattern.hold_in_s, pattern.exhale_s, pattern.hold_out_s)]
    parts = [f"{s[0]} s in", f"hold {s[1]} s", f"{s[2]} s out", f"hold {s[3]} s"]
    keep = (True, pattern.hold_in_s > 0, True, pattern.hold_out_s > 0)
    return ", ".join(p for p, k in zip(parts, keep, strict=True) if k)


def _track_preset(args: argparse.Namespace) -> tuple[Any, str]:
    """The pattern of a fixed preset and where it came from; an adaptive one is a usage error."""
    from biofeedback.pacer import parse_preset

    preset = parse_preset(args.preset)
    if preset.adaptive:
        hint = "--resonance for your own resonance pace" if preset.name == "resonance" else "--pace X"
        args.subparser.error(f"preset {preset.name!r} adapts to your heart during 'train' and a track cannot; "
                             f"give {hint}, or a fixed preset (fixed:X, 4-7-8, box)")
    return preset.pattern, f"{_bpm_text(preset.pattern.pace_bpm)} breaths/min, the preset {preset.name} ({preset.description})"


def _stored_resonance(data_dir: Path | None) -> tuple[float, str]:
    """The person's resonance pace from the store (never created here) and a line saying so.

    Raises
    ------
    InvalidInputError
        No store in the data folder, or no complete session in it that found a resonance pace.
    """
    from biofeedback.errors import InvalidInputError
    from biofeedback.paths import store_path
    from biofeedback.store import SessionStore

    path = store_path(data_dir)
    found: float | None = None
    n_found = 0
    if path.is_file():  # SessionStore would create a missing store
        with SessionStore(path) as store, store.snapshot():  # the median of the paces counted
            n_found = len(store.recent_resonance_paces_bpm(n=RESONANCE_SESSIONS))
            found = store.recent_resonance_bpm(n=RESONANCE_SESSIONS)
    if found is None:
        raise InvalidInputError(f"no stored sessions with a resonance pace in {path.parent} yet; "
                                "train first or give --pace")
    last = "your last session" if n_found == 1 else f"the median of your last {n_found} sessions"
    return found, f"your resonance pace {_bpm_text(found)} breaths/min, {last}"


def _calm_lines(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback._words import plural
    from biofeedback.display.calm import CalmLines, forget_calm_lines, store_calm_lines
    from biofeedback.paths import calm_lines_path

    if args.file is not None and (args.show or args.reset):
        args.subparser.error("give a FILE to keep, or --show, or --reset; not both")
    if args.file is not None:
        path, lines = store_calm_lines(args.file, args.data_dir)
        print(f"Kept your {plural(len(lines), 'calm line')} in {path}; the prompt and the sound "
              "mode show them from the next session ('biofeedback calm-lines --reset' goes back to the defaults).",
              file=out)
        return 0
    if args.reset:
        removed = forget_calm_lines(args.data_dir)
        print("The default calm lines are used again" + (f" ({removed} removed)." if removed else
                                                          " (you had kept none of your own)."), file=out)
        return 0
    calm, kept = CalmLines.for_person(args.data_dir), calm_lines_path(args.data_dir)
    print(f"Your own calm lines, from {kept}:" if kept.is_file() else
          "The default calm lines (keep your own with 'biofeedback calm-lines FILE'):", file=out)
    for line in calm.lines:
        print(f"  {line}", file=out)
    return 0


# ---------------------------------------------------------------------------- main


def _first_run_notice() -> None:
    """Say 'not a medical device' on the first run, once per user."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "biofeedback"
    marker = base / "first-run-notice-shown"
    if marker.exists():
        return
    print(NOT_A_MEDICAL_DEVICE, file=sys.stderr)
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        marker.touch(mode=0o600)
    except OSError:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    A reader that closes stdout early (``| head``) ends the command quietly with exit code 0.
    """
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is caught below
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return 0


def _quiet_stdout() -> None:
    """Point stdout at devnull so that the interpreter's final flush does not fail again.

    The recipe of the Python documentation (signal module, "Note on SIGPIPE").
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _main(argv: Sequence[str] | None) -> int:
    _first_run_notice()
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "record" and args.speed is not None and args.emulate is None:
        args.subparser.error("--speed needs --emulate (a real strap plays in real time)")
    out = sys.stdout
    try:
        if args.command == "scan":
            return asyncio.run(_scan(args, out))
        if args.command == "record":
            return asyncio.run(_record(args, out))
        if args.command in ("train", "replay", "demo"):
            from biofeedback import cli_train

            return cli_train.run(args, out)
        if args.command == "show":
            return cli_history.show(args, out, _show)
        if args.command in cli_history.COMMANDS:
            return cli_history.run(args, out)
        if args.command == "track":
            return _track(args, out)
        if args.command == "calm-lines":
            return _calm_lines(args, out)
        if args.command in ("export", "import"):
            from biofeedback import cli_interchange

            return cli_interchange.run(args, out)
    except BiofeedbackError as exc:
        print(f"biofeedback: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (KeyboardInterrupt, asyncio.CancelledError):  # outside a recording, or a second signal in one
        return 130
    parser.error(f"unknown command {args.command!r}")


if __name__ == "__main__":
    raise SystemExit(main())
