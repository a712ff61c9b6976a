"""The interchange commands: ``export ID`` and ``import FILE`` / ``import --samples``.

``export`` writes one stored session as the interchange CSV or a Kubios RR file (see
:mod:`biofeedback.interchange`), to stdout or, with ``-o``, to a file readable by its owner
only that replaces only a file biofeedback wrote (else ``--force``). ``import`` stores
files as new sessions in the data folder's store (``--data-dir DIR``, else
``$BIOFEEDBACK_HOME``, else the user data folder), creating it if needed; ``--samples``
imports the simulated practice sessions shipped in ``sample_data/simulated``. A malformed
file ends in one line with its line number, and nothing is imported.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from biofeedback.cli_options import add_data_dir, add_force

if TYPE_CHECKING:
    from biofeedback.interchange import ImportResult

__all__ = ["COMMANDS", "PROGRESS_FROM", "add_parsers", "run", "samples_folder"]

COMMANDS = ("export", "import")
PROGRESS_FROM = 5  # files: a progress bar from this many on (when stderr is a terminal)
LISTED_UP_TO = 5  # files: one line each up to this many, then a summary line
SAMPLES = Path("sample_data") / "simulated"
EXPORT_FORMATS = ("csv", "kubios")  # as biofeedback.interchange has them (not imported here: it needs numpy)
IMPORT_FORMATS = ("auto", "csv", "rr-ms", "rr-s")


def add_parsers(sub: Any) -> None:
    """Add ``export`` and ``import`` to the subparsers ``sub`` of the ``biofeedback`` parser."""
    p = sub.add_parser("export", help="write one stored session as the interchange CSV or a Kubios RR file")
    p.add_argument("id", type=int, metavar="ID", help="the session's id (see 'biofeedback sessions')")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv",
                   help="csv: every beat, event and setting, re-importable exactly (default); "
                   "kubios: RR intervals in ms, one per line, for Kubios HRV")
    p.add_argument("-o", "--out", type=Path, metavar="FILE", help="the file to write (default: stdout)")
    add_force(p)
    add_data_dir(p)
    p = sub.add_parser("import", help="store files as new sessions: our CSV, or RR files of Polar, Elite HRV, "
                       "HRV Logger and others")
    p.add_argument("files", type=Path, nargs="*", metavar="FILE",
                   help="a session CSV ('biofeedback export'), a beat CSV, or one RR interval per line (ms or s)")
    p.add_argument("--format", choices=IMPORT_FORMATS, default="auto",
                   help="auto: tell from the file, the unit of plain numbers from their size (default); "
                   "csv: our CSV only; rr-ms, rr-s: plain RR numbers in ms or in s")
    p.add_argument("--samples", action="store_true",
                   help="import the simulated practice sessions shipped with biofeedback (a few weeks of them)")
    add_data_dir(p)
    p.set_defaults(import_parser=p)


def samples_folder() -> Path:
    """The folder of the shipped simulated sessions (``sample_data/simulated`` of the source tree).

    Raises
    ------
    FileFormatError
        It is not there (an installed copy without the source tree).
    """
    import biofeedback
    from biofeedback.errors import FileFormatError

    root = Path(biofeedback.__file__).resolve().parent
    for folder in (root / "data" / "simulated", root.parent / SAMPLES):
        if folder.is_dir() and any(folder.glob("*.csv")):
            return folder
    raise FileFormatError(
        f"the simulated sample sessions are not installed with this copy of biofeedback (no {SAMPLES}); "
        "import them from a source checkout: biofeedback import sample_data/simulated/*.csv"
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``export`` or ``import``; returns the exit code (errors are raised as BiofeedbackError)."""
    if args.command == "export":
        return _export(args, out)
    return _import(args, out)


def _export(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback.formats import check_writable, open_private
    from biofeedback.interchange import export_session
    from biofeedback.paths import existing_store_path
    from biofeedback.store import SessionStore

    if args.out is not None:
        check_writable(args.out, force=args.force)
    with SessionStore(existing_store_path(args.data_dir)) as store:
        text = export_session(store, args.id, args.format)
        n_beats = store.session(args.id).n_beats
    if args.out is None:
        out.write(text)
        return 0
    with open_private(args.out) as f:
        f.write(text)
    what = "an interchange CSV" if args.format == "csv" else "a Kubios RR file"
    print(f"Session {args.id} ({n_beats} beats) written to {args.out} as {what}.", file=out)
    return 0


@contextmanager
def _progress(total: int, what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on stderr, for many files on a terminal; else None."""
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=2 * total)

        def update(done: int, _total: int) -> None:
            bar.update(task, completed=done)

        yield update


def _import(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback._words import plural
    from biofeedback.interchange import import_files, session_files
    from biofeedback.paths import store_path
    from biofeedback.store import SessionStore

    files: list[Path] = list(args.files)
    if args.samples:
        files += session_files(samples_folder())
    if not files:
        args.import_parser.error("give a FILE to import, or --samples")
    with _progress(len(files), f"Importing {len(files)} files") as progress, SessionStore(
        store_path(args.data_dir)
    ) as store:
        results = import_files(store, files, args.format, progress=progress)
        where = store.path
    if len(results) <= LISTED_UP_TO:
        for r in results:
            for line in _report(r):
                print(line, file=out)
    else:
        _summary(results, out)
    added = sum(1 for r in results if not r.skipped)
    print(f"{plural(added, 'session')} added to {where}"
          + ("; 'biofeedback sessions' lists them, 'biofeedback trends' draws them." if added else "."), file=out)
    return 0


def _report(r: ImportResult) -> list[str]:
    from biofeedback._words import plural
    from biofeedback.interchange import PLAUSIBLE_RR_MS

    f = r.file
    rec = f.recording
    start = rec.meta.start_local.strftime("%Y-%m-%d %H:%M")
    if r.skipped:
        return [f"{f.path}: already in the store (the session of {start}); skipped."]
    beats = plural(rec.n_beats, "beat")
    lines = [f"{f.path}: session {r.session_id}, {beats} over {rec.duration_s / 60:.1f} min, from {start}."]
    if f.dated_from_mtime:
        lines.append("  The file holds no date: it is dated from its modification time, minus its length.")
    if f.unit_detected and f.kind == "rr-s":
        lines.append("  Its numbers were read as seconds, being small (--format rr-ms says they are ms).")
    if f.implausible:
        lo, hi = PLAUSIBLE_RR_MS
        shown = ", ".join(str(i + 1) for i in f.implausible[:8]) + (", ..." if len(f.implausible) > 8 else "")
        lines.append(f"  {plural(len(f.implausible), 'interval')} outside {lo:g}-{hi:g} ms cannot be heartbeats: kept, "
                     f"flagged as artefacts (beat {shown}).")
    return lines


def _summary(results: list[ImportResult], out: TextIO) -> None:
    from biofeedback._words import plural

    added = [r for r in results if not r.skipped]
    skipped = len(results) - len(added)
    if added:
        starts = sorted(r.file.recording.meta.start_local for r in added)
        beats = sum(r.file.recording.n_beats for r in added)
        minutes = sum(r.file.recording.duration_s for r in added) / 60
        print(f"Imported {plural(len(added), 'file')}: {plural(beats, 'beat')}, {minutes:.0f} min of practice from "
              f"{starts[0]:%Y-%m-%d} to {starts[-1]:%Y-%m-%d}.", file=out)
    notes = [
        (sum(1 for r in added if r.file.dated_from_mtime), "dated from their modification time (no date inside)"),
        (sum(1 for r in added if r.file.implausible), "with intervals outside 200-3000 ms, kept and flagged"),
    ]
    for n, what in notes:
        if n:
            print(f"  {n} of them {what}.", file=out)
    if skipped:
        print(f"{plural(skipped, 'file')} already in the store: skipped.", file=out)
