"""The ``biofeedback`` command.

Every user mistake (a wrong option, a broken file, a missing strap) ends in one line on
stderr and a non-zero exit code, never a traceback. Ctrl-C ends a recording cleanly
with exit code 0 and everything recorded so far kept. A closed pipe on stdout
(``biofeedback show FILE | head -n 1``) ends quietly.

Printing the help imports none of numpy, scipy, matplotlib or bleak: each command imports
what it needs when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from biofeedback import __version__
from biofeedback.errors import BiofeedbackError

if TYPE_CHECKING:
    from biofeedback.beats import Beat
    from biofeedback.formats import BeatCsvWriter
    from biofeedback.session import RecordSummary

log = logging.getLogger("biofeedback")

NOT_A_MEDICAL_DEVICE = (
    "biofeedback is not a medical device. It is for relaxation and breathing practice only; "
    "it does not diagnose or treat anything. If you have symptoms, see a clinician."
)
DEMO_RR_FILE = "polarh10_slow_breathing.txt"  # shipped in biofeedback/data (a copy of sample_data/'s)


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
    p.add_argument("--out", type=Path, metavar="FILE.csv", help="write the beats as CSV (t_s, rr_ms, flags)")
    p.add_argument("--timeout", type=_positive, default=10.0, metavar="S",
                   help="seconds to look for the strap (default 10)")
    _add_emulation(p)
    p.set_defaults(subparser=p)

    p = sub.add_parser(
        "demo",
        help="play a recorded session through an emulated strap and the real Bluetooth stack, then show its HRV",
    )
    p.add_argument("--out", type=Path, default=Path("biofeedback-demo.csv"), metavar="FILE.csv",
                   help="where to write the recorded beats (default biofeedback-demo.csv)")
    p.add_argument("--speed", type=_positive, default=40.0, help="times faster than real time (default 40)")
    p.add_argument("--rr-file", type=Path, metavar="FILE",
                   help=f"RR file the emulated strap plays (default: {DEMO_RR_FILE}, a real Polar H10 "
                   "session shipped with biofeedback, also in sample_data/)")
    p.add_argument("--plot", type=Path, default=Path("biofeedback-demo.png"), metavar="FILE.png",
                   help="where to draw the session (default biofeedback-demo.png)")

    p = sub.add_parser("show", help="HRV of a recording (RR text file or beat CSV), with an optional plot")
    p.add_argument("file", type=Path, help="RR file: one interval in ms per line, or a CSV with an rr_ms column")
    p.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw the session to this image")

    p = sub.add_parser("track", help="write a breathing-guide audio track (WAV) to play with no strap and no computer")
    p.add_argument("--pace", type=_positive, required=True, metavar="X", help="breaths per minute")
    p.add_argument("--inhale-share", type=_positive, default=0.4, metavar="X",
                   help="share of each breath spent breathing in (default 0.4)")
    p.add_argument("--minutes", type=_positive, default=10.0, metavar="N", help="length of the track (default 10)")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="FILE.wav", help="the WAV file to write")
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


def _print_summary(summary: RecordSummary, out_path: Path | None, out: TextIO) -> None:
    from biofeedback.analysis import mm_ss

    gaps = sum(g.duration_s for g in summary.gaps)
    print(f"Recorded {summary.beats} beats over {mm_ss(summary.duration_s)} (mm:ss); "
          f"{len(summary.gaps)} gap(s) totalling {gaps:.1f} s; {summary.link_losses} link loss(es).", file=out)
    if out_path is not None:
        print(f"Beats written to {out_path}" if summary.beats else f"No beats recorded: {out_path} not written",
              file=out)


async def _record(args: argparse.Namespace, out: TextIO) -> int:
    """Record from a strap (or an emulated one); report at the end, or at Ctrl-C, what was kept."""
    from biofeedback.display.status import RecordStatus
    from biofeedback.formats import BeatCsvWriter, check_writable, read_rr_file
    from biofeedback.session import RecordSummary, record
    from biofeedback.sources.ble import BleSource

    duration_s = args.minutes * 60.0 if args.minutes else None
    if args.out is not None:
        check_writable(args.out)
    writer: BeatCsvWriter | None = None
    status = RecordStatus(out)
    summary = RecordSummary()
    source: BleSource | None = None

    def on_beat(beat: Beat) -> None:
        nonlocal writer
        if args.out is not None:
            if writer is None:  # an earlier file there is replaced only once there is a beat to keep
                writer = BeatCsvWriter(args.out)
            writer.write(beat)
        status.beat(beat)

    report = False  # at the end or at Ctrl-C, not after an error
    try:
        if args.emulate is not None:
            from biofeedback.beats import MAX_LAG_S, BeatClock
            from biofeedback.errors import EmulatorError

            try:
                from biofeedback.sources.emulated import emulated_strap, recording_length_s
            except ImportError as exc:  # the emulated BlueZ serves D-Bus with dbus-fast (Linux)
                raise EmulatorError(f"the emulated strap cannot load {exc.name or 'dbus_fast'}: it needs "
                                    "the Python package dbus-fast and Linux (`pip install dbus-fast`)") from exc

            speed = 1.0 if args.speed is None else args.speed
            rr_ms = read_rr_file(args.emulate)
            async with emulated_strap(rr_ms, speed=speed) as strap:
                # the private bus holds this one strap: no need to listen on for others
                source = BleSource(args.device, scan_timeout_s=args.timeout, clock=strap.clock, settle_s=0.0)
                print(f"Emulated strap '{strap.name}' plays {args.emulate} ({len(rr_ms)} beats) "
                      f"at {speed:g}x real time", file=out)
                # arrival jitter on the strap's clock grows with the speed: keep the lag
                # that counts as lost notifications at MAX_LAG_S of real time
                clock = BeatClock(max_lag_s=MAX_LAG_S * max(1.0, speed))
                recording = asyncio.ensure_future(
                    record(source, on_beat, duration_s=duration_s or recording_length_s(strap),
                           on_event=status.event, summary=summary, clock=clock))
                await _end_with_strap(recording, strap.finished)
        else:
            source = BleSource(args.device, scan_timeout_s=args.timeout)
            await record(source, on_beat, duration_s=duration_s, on_event=status.event, summary=summary)
        report = True
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run raises KeyboardInterrupt after this
        report = True
        raise
    finally:
        status.done()
        if writer is not None:
            writer.close()
        if report:
            if source is not None and source.strap is not None:
                battery = f", battery {source.battery_percent}%" if source.battery_percent is not None else ""
                print(f"Strap: {source.strap.name} ({source.strap.address}){battery}; "
                      f"{source.malformed_frames} malformed notification(s) skipped.", file=out)
            _print_summary(summary, args.out, out)
    return 0


async def _end_with_strap(recording: asyncio.Future[RecordSummary], finished: asyncio.Event,
                          grace_s: float = 2.0) -> None:
    """Wait for the recording; once the emulated strap has sent its last frame, allow
    ``grace_s`` real seconds for it to arrive, then end the recording.

    Whichever way this ends (Ctrl-C included), the recording has stopped the strap and
    finished when it returns: the emulator it talks to goes away right after.
    """
    watcher = asyncio.ensure_future(finished.wait())
    both: set[asyncio.Future[Any]] = {recording, watcher}
    try:
        await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
        if not recording.done():
            await asyncio.wait({recording}, timeout=grace_s)
        if not recording.done():
            log.info("the emulated strap has sent everything; ending the recording")
    finally:
        watcher.cancel()
        recording.cancel()
        await asyncio.wait(both)
    if not recording.cancelled():
        recording.result()  # raise what the recording raised


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    if args.rr_file is None:  # the shipped session, read where the package was installed
        with resources.as_file(resources.files("biofeedback").joinpath("data", DEMO_RR_FILE)) as path:
            args.rr_file = path
            return _demo(args, out)
    from biofeedback.errors import EmulatorError
    from biofeedback.formats import BeatCsvWriter, read_rr_file
    from biofeedback.session import RecordSummary

    args.device = None
    args.minutes = None
    args.timeout = 10.0
    args.emulate = args.rr_file
    try:
        asyncio.run(_record(args, out))
    except EmulatorError as exc:
        from biofeedback.session import record
        from biofeedback.sources.replay import ReplaySource

        print(f"note: {exc}. Replaying {args.rr_file} without the Bluetooth stack instead.", file=out)
        summary = RecordSummary()
        with BeatCsvWriter(args.out) as writer:
            asyncio.run(record(ReplaySource(read_rr_file(args.rr_file)), writer.write, summary=summary))
        _print_summary(summary, args.out, out)
    print(file=out)
    return _show(args.out, args.plot, out)


def _show(path: Path, plot: Path | None, out: TextIO) -> int:
    from biofeedback.analysis import format_summary, summarise
    from biofeedback.formats import read_gaps, read_rr_file

    summary = summarise(read_rr_file(path), read_gaps(path))
    print(f"HRV of {path} (after artefact correction):", file=out)
    for line in format_summary(summary):
        print("  " + line, file=out)
    if plot is not None:
        from biofeedback.plots import save_figure, session_figure

        save_figure(session_figure(summary), plot)
        print(f"Plot written to {plot}", file=out)
    return 0


def _track(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback.analysis import mm_ss
    from biofeedback.pacer import BreathPattern, Pacer
    from biofeedback.track import TRACK_RATE_HZ, write_track

    pacer = Pacer(BreathPattern(pace_bpm=args.pace, inhale_share=args.inhale_share))
    n = write_track(args.out, pacer.fullness_at, args.minutes * 60.0)
    print(f"Wrote {args.out}: {mm_ss(n / TRACK_RATE_HZ)} of breathing at {args.pace:g} breaths/min "
          f"({args.inhale_share:.0%} in). Play it on anything; breathe in as it rises.", file=out)
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
        if args.command == "demo":
            return _demo(args, out)
        if args.command == "show":
            return _show(args.file, args.plot, out)
        if args.command == "track":
            return _track(args, out)
    except BiofeedbackError as exc:
        print(f"biofeedback: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # a recording has reported what it kept
        return 0
    parser.error(f"unknown command {args.command!r}")


if __name__ == "__main__":
    raise SystemExit(main())
