"""The history commands: ``sessions``, ``show ID``, ``plot ID``, ``trends``.

Each reads the session store in the data folder (``--data-dir DIR``, else
``$BIOFEEDBACK_HOME``, else the user data folder) and never writes to it. A missing store,
an unknown session or a bad date ends in one line and a non-zero exit code. The figures
go to a file with ``-o`` (PNG, PDF, SVG by its suffix), else to a window when there is a
display; with neither, one line says to give ``-o``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from biofeedback.cli_options import add_data_dir, add_force

if TYPE_CHECKING:
    from biofeedback.history import SessionFigures
    from biofeedback.store import SessionStore

__all__ = ["COMMANDS", "add_parsers", "run", "show"]

COMMANDS = ("sessions", "plot", "trends")
PROGRESS_FROM = 20  # sessions: a progress bar from this many on
_T = TypeVar("_T")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: give it as YYYY-MM-DD, e.g. 2026-11-01") from None


def add_parsers(sub: Any) -> None:
    """Add ``sessions``, ``plot`` and ``trends`` to the subparsers ``sub`` of the ``biofeedback`` parser."""
    p = sub.add_parser("sessions", help="the stored sessions, newest first")
    add_data_dir(p)
    p = sub.add_parser("plot", help="draw one stored session: heart rate, pace and breaths, tachogram, swing, spectrum")
    p.add_argument("id", type=int, metavar="ID", help="the session's id (see 'biofeedback sessions')")
    p.add_argument("-o", "--out", type=Path, metavar="FILE",
                   help="write the figure to FILE.png, .pdf or .svg (default: a window)")
    add_force(p)
    add_data_dir(p)
    p = sub.add_parser("trends", help="your sessions over days and weeks, with a headline")
    p.add_argument("--since", type=_date, metavar="DATE", help="only sessions on or after this day (YYYY-MM-DD)")
    p.add_argument("-o", "--out", type=Path, metavar="FILE",
                   help="write the figure to FILE.png, .pdf or .svg (default: a window)")
    add_force(p)
    add_data_dir(p)


def add_show_options(p: argparse.ArgumentParser) -> None:
    """What ``show`` needs besides its FILE argument to show a stored session by id."""
    add_data_dir(p)


def _open_store(data_dir: Path | None) -> SessionStore:
    from biofeedback.paths import existing_store_path
    from biofeedback.store import SessionStore

    return SessionStore(existing_store_path(data_dir))


def _progress(items: list[_T], what: str) -> Iterator[_T]:
    """``items``, with a progress bar on stderr when there are many and stderr is a terminal."""
    if len(items) < PROGRESS_FROM or not sys.stderr.isatty():
        yield from items
        return
    from rich.console import Console
    from rich.progress import track

    yield from track(items, description=what, console=Console(stderr=True), transient=True)


def _stored_figures(store: SessionStore, sid: int) -> tuple[Any, SessionFigures, Any, Any, list[Any]]:
    """One stored session: its summary, figures, per-beat pace and phase, and coach decisions."""
    from biofeedback.analysis import Corrected, summarise
    from biofeedback.history import pace_changes, session_figures

    row = store.session(sid)
    rec, beats = store.recording_and_beats(sid)
    summary = summarise(rec)
    assert summary.is_artifact is not None
    c = Corrected(summary.nn_ms, summary.t_s, summary.stretches, summary.is_artifact)
    figures = session_figures(row, rec, beats.pace_bpm, beats.phase, corrected=c)
    return summary, figures, beats.pace_bpm, beats.phase, pace_changes(store.events(sid, "coach"))


def _figure_out(fig: Any, out_path: Path | None, out: TextIO, title: str) -> None:
    from biofeedback.plots import save_figure, show_figure

    if out_path is None:
        show_figure(fig, title)
        return
    save_figure(fig, out_path)
    print(f"Figure written to {out_path}", file=out)


def _check_out(out_path: Path | None, force: bool) -> None:
    from biofeedback.formats import check_writable
    from biofeedback.plots import check_window

    if out_path is not None:
        check_writable(out_path, force=force)
    else:
        check_window()


def _sessions(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback.display.history import sessions_table
    from biofeedback.history import session_row

    with _open_store(args.data_dir) as store:
        rows = [session_row(s) for s in store.sessions()]
    if not rows:
        print(f"No sessions stored yet in {store.path}.", file=out)
        return 0
    sessions_table(rows, out)
    return 0


def _plot(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback.plots import session_figure

    _check_out(args.out, args.force)
    with _open_store(args.data_dir) as store:
        summary, figures, pace, phase, changes = _stored_figures(store, args.id)
    fig = session_figure(summary, figures=figures, pace_bpm=pace, phase=phase, changes=changes)
    _figure_out(fig, args.out, out, f"biofeedback: session {args.id}")
    return 0


def trend_points(store: SessionStore, since: dt.date | None = None) -> list[SessionFigures]:
    """The figures of every stored session (from ``since``, a local day), for :func:`biofeedback.history.trends`."""
    from biofeedback.history import session_figures

    rows = [s for s in store.sessions(since) if s.n_beats > 0]
    points = []
    for s in _progress(rows, "Reading sessions"):
        rec, beats = store.recording_and_beats(s.id)
        points.append(session_figures(s, rec, beats.pace_bpm, beats.phase))
    return points


def _trends(args: argparse.Namespace, out: TextIO) -> int:
    from biofeedback.display.history import headline_lines
    from biofeedback.history import headlines, trends
    from biofeedback.plots import trend_figure

    _check_out(args.out, args.force)
    with _open_store(args.data_dir) as store:
        t = trends(trend_points(store, args.since))
    if not len(t):
        since = f" since {args.since}" if args.since else ""
        print(f"No sessions stored{since}: nothing to draw yet.", file=out)
        return 1
    for line in headline_lines(headlines(t)):
        print(line, file=out)
    _figure_out(trend_figure(t), args.out, out, "biofeedback: trends")
    return 0


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run one of :data:`COMMANDS`."""
    commands: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
        "sessions": _sessions, "plot": _plot, "trends": _trends,
    }
    return commands[args.command](args, out)


def show(args: argparse.Namespace, out: TextIO, show_file: Callable[..., int]) -> int:
    """``show FILE`` (a recording file: ``show_file``) or ``show ID`` (a stored session)."""
    target: Path = args.file
    text = str(target)
    if target.exists() or not text.isdigit():
        return show_file(target, args.plot, out, force=args.force)
    from biofeedback._words import plural
    from biofeedback.display.history import session_lines
    from biofeedback.display.rating import rating_lines
    from biofeedback.display.summary import format_summary, mm_ss
    from biofeedback.ratings import Ratings

    if args.plot is not None:
        from biofeedback.formats import check_writable

        check_writable(args.plot, force=args.force)
    sid = int(text)
    with _open_store(args.data_dir) as store:
        row = store.session(sid)
        summary, figures, pace, phase, changes = _stored_figures(store, sid)
    print(f"Session {sid} ({row.status}, {mm_ss(row.duration_s)} mm:ss) from {store.path}:", file=out)
    for line in [*session_lines(figures), *rating_lines(Ratings.of(row))]:
        print("  " + line, file=out)
    if changes:
        print(f"  The coach changed the pace {plural(len(changes), 'time')}; the last: {changes[-1].reason}", file=out)
    print("HRV (after artefact correction):", file=out)
    for line in format_summary(summary):
        print("  " + line, file=out)
    if args.plot is not None:
        from biofeedback.plots import save_figure, session_figure

        save_figure(session_figure(summary, figures=figures, pace_bpm=pace, phase=phase, changes=changes), args.plot)
        print(f"Plot written to {args.plot}", file=out)
    return 0
