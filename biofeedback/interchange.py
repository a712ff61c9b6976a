"""Sessions out of the store and into it: the interchange CSV, a Kubios RR file, other tools' RR files.

Export (:func:`export_session`)
    ``csv``
        The interchange format: everything the store holds of one session except its raw
        strap notifications, as text that pandas (``comment="#"``) or a spreadsheet reads::

            # format: biofeedback-session/1
            # start_utc: 2026-01-05T07:30:00.250000+00:00
            # utc_offset_s: 3600
            # source: sim:7
            # device_name: simulated person
            # software_version: 0.1.0
            # status: complete
            # end_utc: 2026-01-05T07:40:02.125000+00:00
            # settings: {"minutes": 10, "preset": "resonance"}
            # summary: {"baseline_hr_bpm": 66.2, "final_hr_bpm": 62.9, "resonance_bpm": 5.5}
            # pain_before: 3
            # note: "felt calm"
            t_s,rr_ms,flags,hr_bpm,pace_bpm,phase
            0.9375,937.5,,64.0,6.0,0.09375
            # event: {"data": {"code": "settled", "pace_bpm": 5.5}, "detail": "...", "kind": "coach", ...}
            # gap: {"start_s": 1.875, "end_s": 12.5, "reason": "link lost"}
            13.4375,937.5,after_gap,64.0,5.5,0.5

        One row per beat, the columns of the store's ``beats`` table (``flags`` as the
        names of :class:`~biofeedback.beats.BeatFlags` joined by ``+``; an empty cell is a
        value not stored). The header lines are the session's row; gaps, link events and
        every other event (coach decisions, battery, notes) are ``#`` lines in time order,
        a gap just before the beat that closes it. Every number is Python's ``repr`` and
        every JSON object has sorted keys, so export → import → export gives the same file
        byte for byte. The first three columns and the gap and link lines are those of the
        beat CSV (:mod:`biofeedback.formats`), so ``show FILE`` reads an export too.
    ``kubios``
        RR intervals in ms, one per line, in beat order, after a few ``#`` lines with the
        session's start and strap: the one-column RR text file Kubios HRV opens (the
        "Type 1" RR series of its user's guide, as written by the ``kubios`` package of
        P. Gomes for pyHRV). Gaps are not marked in it: Kubios joins the stretches.

Import (:func:`read_session_file`, :func:`import_files`)
    Our interchange CSV, our beat CSV (``biofeedback record --out``), and plain RR files:
    one interval per line, in ms or s, as Polar, Elite HRV and HRV Logger export them (a
    CSV with an ``rr_ms``, ``rr``, ``ibi``, ``rr_s`` or ``RR-interval [ms]`` column too).
    The unit of plain numbers is seconds when their median is below 10, else ms; it can be
    forced (``rr-ms``, ``rr-s``).

    * A malformed file is refused with its line number and what is wrong; nothing of it
      is stored (each session is one transaction, and every file is read before the first
      is stored).
    * An interval that cannot be a heartbeat (outside :data:`PLAUSIBLE_RR_MS`, 200-3000
      ms) is kept and flagged ``ARTIFACT``, never dropped.
    * Every imported session has a date: the file's own (our header lines, or the clock
      time of the first beat in a ``date`` / ``Phone timestamp`` column, as HRV Logger and
      Polar Sensor Logger write; a time without an offset is this computer's local time),
      else the file's modification time minus its length, marked ``start_estimated``.
    * A file whose session is in the store already (same start, source and beats) is
      skipped, so importing twice does not count a session twice.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import logging
import math
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from biofeedback._words import plural
from biofeedback.beats import BeatFlags
from biofeedback.errors import FileFormatError, InvalidInputError
from biofeedback.formats import (
    flags_to_text,
    meta_from_header,
    meta_lines,
    read_recording,
    read_rr_values,
)
from biofeedback.recording import Recording, RecordingMeta
from biofeedback.store import Event, SessionStore

__all__ = [
    "COLUMNS",
    "EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "KUBIOS_FORMAT",
    "PLAUSIBLE_RR_MS",
    "SESSION_CSV_FORMAT",
    "ImportResult",
    "SessionFile",
    "export_csv",
    "export_kubios",
    "export_session",
    "import_files",
    "read_session_file",
    "session_files",
]

log = logging.getLogger(__name__)

SESSION_CSV_FORMAT: Final[str] = "biofeedback-session/1"  # "# format: ..." of the interchange CSV
KUBIOS_FORMAT: Final[str] = "biofeedback-rr/1"  # "# format: ..." of the Kubios RR file
COLUMNS: Final[tuple[str, ...]] = ("t_s", "rr_ms", "flags", "hr_bpm", "pace_bpm", "phase")
EXPORT_FORMATS: Final[tuple[str, ...]] = ("csv", "kubios")
IMPORT_FORMATS: Final[tuple[str, ...]] = ("auto", "csv", "rr-ms", "rr-s")
PLAUSIBLE_RR_MS: Final[tuple[float, float]] = (200.0, 3000.0)  # a heartbeat interval (300-20 beats/min), ms
TIMESTAMP_COLUMNS: Final[tuple[str, ...]] = ("date", "phone timestamp", "timestamp", "time")  # of the first beat
SECONDS_BELOW: Final[float] = 10.0  # plain numbers whose median is below this are seconds
RATING_KEYS: Final[tuple[str, ...]] = ("pain_before", "tension_before", "pain_after", "tension_after")
_LINK_KINDS: Final[dict[str, str]] = {"link_lost": "lost", "link_restored": "restored"}
_OWN_LINES: Final[frozenset[str]] = frozenset({"gap", *_LINK_KINDS})  # kinds with lines of their own
_META_KEYS: Final[tuple[str, ...]] = (
    "start_utc", "utc_offset_s", "source", "device_name", "device_address", "software_version", "start_estimated",
)
_SESSION_KEYS: Final[tuple[str, ...]] = ("status", "end_utc", "settings", "summary", *RATING_KEYS, "note")
_STATUSES: Final[tuple[str, ...]] = ("complete", "incomplete", "interrupted")

FloatArray = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------- export


def _cell(x: float) -> str:
    return "" if not math.isfinite(x) else repr(float(x))


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def _comment(key: str, value: str) -> str:
    return f"# {key}: {value}\n"


def export_csv(store: SessionStore, session_id: int) -> str:
    """One stored session as the interchange CSV (see the module docstring).

    Raises
    ------
    SessionNotFoundError
        No such session.
    """
    with store.snapshot():  # the row, beats and events of one moment (a live session may be adding to them)
        row = store.session(session_id)
        rec, beats = store.recording_and_beats(session_id)
        others = [e for e in store.events(session_id) if e.kind not in _OWN_LINES]
    lines = meta_lines(row.meta, SESSION_CSV_FORMAT)
    lines.append(_comment("status", row.status))
    if row.end_utc is not None:
        lines.append(_comment("end_utc", row.end_utc.isoformat()))
    lines.append(_comment("settings", _json(row.settings)))
    if row.summary is not None:
        lines.append(_comment("summary", _json(row.summary)))
    for key in RATING_KEYS:
        value = getattr(row, key)
        if value is not None:
            lines.append(_comment(key, str(int(value))))
    if row.note is not None:
        lines.append(_comment("note", _json(row.note)))
    lines.append(",".join(COLUMNS) + "\n")
    # link lines and other events, in time order (links first at equal times, as the store keeps them)
    pending: list[tuple[float, int, str]] = [
        (e.t_s, 0, _comment("link", _json({"t_s": e.t_s, "kind": e.kind, "detail": e.detail})))
        for e in rec.link_events
    ]
    pending += [
        (e.t_s, 1, _comment("event", _json(
            {"t_s": e.t_s, "kind": e.kind, "stage": e.stage, "detail": e.detail, "data": e.data}
        )))
        for e in others
    ]
    pending.sort(key=lambda p: (p[0], p[1]))
    gaps = iter(rec.gaps)
    k = 0
    for t, rr, flags, hr, pace, phase in zip(
        beats.t_s.tolist(), beats.rr_ms.tolist(), beats.flags.tolist(), beats.hr_bpm.tolist(),
        beats.pace_bpm.tolist(), beats.phase.tolist(), strict=True,
    ):
        while k < len(pending) and pending[k][0] < t:
            lines.append(pending[k][2])
            k += 1
        if flags & BeatFlags.AFTER_GAP:
            g = next(gaps)
            lines.append(_comment("gap", _json({"start_s": g.start_s, "end_s": g.end_s, "reason": g.reason})))
        lines.append(f"{t!r},{rr!r},{flags_to_text(BeatFlags(flags))},{_cell(hr)},{_cell(pace)},{_cell(phase)}\n")
    lines += [p[2] for p in pending[k:]]
    return "".join(lines)


def export_kubios(store: SessionStore, session_id: int) -> str:
    """One stored session's RR intervals as the text file Kubios HRV opens (module docstring).

    Raises
    ------
    SessionNotFoundError
        No such session.
    """
    rec = store.recording(session_id)
    lines = meta_lines(rec.meta, KUBIOS_FORMAT)
    gaps = f"; {plural(len(rec.gaps), 'gap')} of {rec.gap_total_s:.1f} s left out of the series" if rec.gaps else ""
    lines.append(f"# RR intervals in ms, one per line: {rec.n_beats} beats of session {session_id}{gaps}\n")
    lines += [f"{rr!r}\n" for rr in rec.rr_ms.tolist()]
    return "".join(lines)


def export_session(store: SessionStore, session_id: int, file_format: str = "csv") -> str:
    """One stored session as text in ``file_format`` (``csv`` or ``kubios``)."""
    if file_format == "csv":
        return export_csv(store, session_id)
    if file_format == "kubios":
        return export_kubios(store, session_id)
    raise InvalidInputError(f"unknown export format {file_format!r}; expected one of {', '.join(EXPORT_FORMATS)}")


# ---------------------------------------------------------------------------- import


@dataclass(frozen=True, eq=False)
class SessionFile:
    """What one file holds, read and checked, ready for :meth:`SessionStore.add_recording`.

    Attributes
    ----------
    path : Path
    kind : str
        ``session-csv`` (our interchange CSV), ``beat-csv`` (our beat CSV), ``rr-ms`` or
        ``rr-s`` (plain RR numbers, read in that unit).
    recording : Recording
        Beats, flags (with ``ARTIFACT`` added to implausible intervals), gaps, link events, meta.
    hr_bpm, pace_bpm, phase : ndarray of float64
        One value per beat, NaN where none (all NaN but in our interchange CSV).
    settings, summary, status, end_utc, ratings, note, events
        The session's row and its other events; for other files, settings say where
        the beats came from.
    unit_detected : bool
        The unit of plain numbers was found from their values (not given by the file or forced).
    dated_from_mtime : bool
        The file held no date: the start is its modification time minus its length.
    implausible : tuple of int
        Indices of the beats whose interval is outside :data:`PLAUSIBLE_RR_MS`, ms.
    """

    path: Path
    kind: str
    recording: Recording
    hr_bpm: FloatArray
    pace_bpm: FloatArray
    phase: FloatArray
    settings: dict[str, Any]
    summary: dict[str, Any] | None = None
    status: str = "complete"
    end_utc: dt.datetime | None = None
    ratings: dict[str, int | None] = field(default_factory=dict)
    note: str | None = None
    events: tuple[Event, ...] = ()
    unit_detected: bool = False
    dated_from_mtime: bool = False
    implausible: tuple[int, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    """One imported file: the new session's id, or None when it was in the store already."""

    file: SessionFile
    session_id: int | None

    @property
    def skipped(self) -> bool:
        return self.session_id is None


def _text_lines(p: Path) -> list[tuple[int, str]]:
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileFormatError(f"{p}: no such file; give the path of a session CSV or an RR file") from None
    except IsADirectoryError:
        raise FileFormatError(f"{p} is a folder; give the path of a session CSV or an RR file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{p}: cannot read it as text ({exc}); give a session CSV or an RR file") from None
    return [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1)]


def _header(lines: list[tuple[int, str]]) -> tuple[dict[str, tuple[int, str]], int | None]:
    """The ``# key: value`` lines before the first other line (with their line numbers), and
    the line number of that first other line."""
    values: dict[str, tuple[int, str]] = {}
    for n, line in lines:
        if not line:
            continue
        if not line.startswith("#"):
            return values, n
        key, sep, value = line[1:].partition(":")
        if sep:
            values.setdefault(key.strip(), (n, value.strip()))
    return values, None


def _sniff(lines: list[tuple[int, str]]) -> str:
    header, first = _header(lines)
    fmt = header.get("format", (0, ""))[1]
    if fmt.startswith("biofeedback-session/"):
        return "session-csv"
    first_line = next((ln for n, ln in lines if n == first), "")
    if fmt.startswith("biofeedback-beats/") or [c.strip().lower() for c in first_line.split(",")][:3] == list(
        COLUMNS[:3]
    ):
        return "beat-csv"
    return "rr"


def read_session_file(path: str | os.PathLike[str], file_format: str = "auto") -> SessionFile:
    """Read and check one file for import (see the module docstring); nothing is stored.

    Parameters
    ----------
    path : path-like
    file_format : {"auto", "csv", "rr-ms", "rr-s"}
        ``auto`` tells our CSVs from plain RR files and finds the unit of plain numbers;
        ``csv`` insists on one of our CSVs; ``rr-ms`` / ``rr-s`` read plain RR numbers in
        that unit.

    Raises
    ------
    FileFormatError
        The file cannot be read or is malformed; the message names the file, the line and
        what is wrong.
    """
    if file_format not in IMPORT_FORMATS:
        raise InvalidInputError(f"unknown import format {file_format!r}; expected one of {', '.join(IMPORT_FORMATS)}")
    p = Path(path)
    lines = _text_lines(p)
    if not any(ln and not ln.startswith("#") for _, ln in lines):
        raise FileFormatError(f"{p}: no beats in the file; expected a session CSV or one RR interval per line")
    kind = _sniff(lines)
    _check_meta(p, _header(lines)[0])
    if file_format == "csv" and kind == "rr":
        raise FileFormatError(
            f"{p}: not a biofeedback CSV (no '# format: {SESSION_CSV_FORMAT}' line nor a t_s,rr_ms,flags header); "
            "for an RR file use --format auto, rr-ms or rr-s"
        )
    if file_format in ("rr-ms", "rr-s"):
        kind = "rr"
    if kind == "session-csv":
        out = _read_session_csv(p, lines)
    elif kind == "beat-csv":
        rec = read_recording(p)
        out = _foreign(p, "beat-csv", rec, {"import_format": "beat-csv"},
                       dated_from_mtime=rec.meta.start_estimated and not _header(lines)[0].get("start_utc"))
    else:
        out = _read_rr(p, lines, None if file_format == "auto" else file_format)
    return _flag_implausible(out)


def _nan(n: int) -> FloatArray:
    return np.full(n, np.nan)


def _foreign(p: Path, kind: str, rec: Recording, settings: dict[str, Any], *, dated_from_mtime: bool,
             unit_detected: bool = False) -> SessionFile:
    n = rec.n_beats
    return SessionFile(
        path=p, kind=kind, recording=rec, hr_bpm=_nan(n), pace_bpm=_nan(n), phase=_nan(n),
        settings={"imported_from": p.name, **settings}, unit_detected=unit_detected,
        dated_from_mtime=dated_from_mtime,
    )


def _read_rr(p: Path, lines: list[tuple[int, str]], forced: str | None) -> SessionFile:
    line_numbers, values, scale = read_rr_values(p)
    for n, v in zip(line_numbers, values, strict=True):
        if not (math.isfinite(v) and v > 0):
            raise FileFormatError(f"{p}:{n}: {v!r} is not an interval (a positive number of ms or s)")
    if forced is not None:
        unit, detected = forced[3:], False
    elif scale is not None:
        unit, detected = ("s" if scale == 1000.0 else "ms"), False
    else:
        unit, detected = ("s" if statistics.median(values) < SECONDS_BELOW else "ms"), True
    rr = np.asarray(values, dtype=np.float64) * (1000.0 if unit == "s" else 1.0)
    header = {k: v for k, (_, v) in _header(lines)[0].items() if k in _META_KEYS}
    stamped = _first_timestamp(lines)
    if stamped is not None and "start_utc" not in header:
        first_beat, offset_s = stamped
        header["start_utc"] = (first_beat - dt.timedelta(milliseconds=float(rr[0]))).isoformat()
        header["utc_offset_s"] = str(offset_s)
    meta = meta_from_header(p, header, float(np.sum(rr)) / 1000.0)
    rec = Recording.from_rr(rr, meta)
    settings = {"import_format": f"rr-{unit}", "unit": unit, "unit_detected": detected}
    return _foreign(p, f"rr-{unit}", rec, settings, dated_from_mtime="start_utc" not in header,
                    unit_detected=detected)


def _first_timestamp(lines: list[tuple[int, str]]) -> tuple[dt.datetime, int] | None:
    """The clock time of the first beat of an app's CSV (HRV Logger's ``date``, Polar Sensor
    Logger's ``Phone timestamp``), UTC, with its offset, s; None without such a column.

    A time without an offset is the local time of this computer (the phone's, as a rule).
    """
    rows = [ln for _, ln in lines if ln and not ln.startswith("#")][:2]
    if len(rows) < 2 or not any(d in rows[0] for d in ",;\t"):
        return None
    try:
        dialect = csv.Sniffer().sniff(rows[0], delimiters=",;\t")
    except csv.Error:
        return None
    header, first = (next(csv.reader([r], dialect)) for r in rows)
    names = [h.strip().lower() for h in header]
    col = next((names.index(c) for c in TIMESTAMP_COLUMNS if c in names), None)
    if col is None or col >= len(first):
        return None
    try:
        when = dt.datetime.fromisoformat(first[col].strip())
    except ValueError:
        return None
    local = when.astimezone()  # a naive time is taken as this computer's local time
    offset = local.utcoffset() or dt.timedelta(0)
    return local.astimezone(dt.UTC), round(offset.total_seconds())


def _check_meta(p: Path, header: dict[str, tuple[int, str]]) -> None:
    """The start and offset of ``# key: value`` header lines, checked with their line numbers."""
    if "start_utc" in header:
        n, value = header["start_utc"]
        try:
            start = dt.datetime.fromisoformat(value)
        except ValueError:
            raise FileFormatError(f"{p}:{n}: start_utc {value[:40]!r} is not an ISO 8601 time") from None
        if start.tzinfo is None:
            raise FileFormatError(f"{p}:{n}: start_utc {value[:40]!r} has no UTC offset (add +00:00)")
    if "utc_offset_s" in header:
        n, value = header["utc_offset_s"]
        try:
            offset = int(value)
        except ValueError:
            raise FileFormatError(f"{p}:{n}: utc_offset_s {value[:40]!r} is not a whole number of s") from None
        if abs(offset) > 18 * 3600:
            raise FileFormatError(f"{p}:{n}: utc_offset_s {value[:40]!r} is beyond ±18 h")


def _flag_implausible(f: SessionFile) -> SessionFile:
    rr = f.recording.rr_ms
    lo, hi = PLAUSIBLE_RR_MS
    bad = np.flatnonzero((rr < lo) | (rr > hi))
    if bad.size == 0:
        return f
    flags = f.recording.flags.copy()
    flags[bad] |= int(BeatFlags.ARTIFACT)
    log.info("%s: %d interval(s) outside %g-%g ms kept, flagged artifact", f.path, bad.size, lo, hi)
    return dataclasses.replace(
        f, recording=dataclasses.replace(f.recording, flags=flags), implausible=tuple(bad.tolist())
    )


def _parse_json(p: Path, n: int, key: str, value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{p}:{n}: {key} {value[:40]!r} is not JSON ({exc.msg})") from None


def _float_cell(p: Path, n: int, column: str, cell: str) -> float:
    if not cell:
        return math.nan
    try:
        x = float(cell)
    except ValueError:
        raise FileFormatError(f"{p}:{n}: {column} {cell[:40]!r} is not a number") from None
    if not math.isfinite(x):
        raise FileFormatError(f"{p}:{n}: {column} {cell[:40]!r} is not a finite number (leave the cell empty)")
    return x


def _read_session_csv(p: Path, lines: list[tuple[int, str]]) -> SessionFile:
    header, first = _header(lines)
    assert first is not None  # there is a line that is not a comment
    columns = next(ln for n, ln in lines if n == first)
    if [c.strip() for c in columns.split(",")] != list(COLUMNS):
        raise FileFormatError(f"{p}:{first}: the column header must be {','.join(COLUMNS)}, got {columns[:80]!r}")
    session: dict[str, Any] = {"ratings": {}}
    for key, (n, value) in header.items():
        if key not in _SESSION_KEYS:
            if key not in (*_META_KEYS, "format"):
                log.warning("%s:%d: unknown header key %r ignored", p, n, key)
            continue
        if key == "status":
            if value not in (*_STATUSES, "recording"):
                raise FileFormatError(f"{p}:{n}: status {value[:40]!r} is not one of {', '.join(_STATUSES)}")
            session["status"] = "interrupted" if value == "recording" else value  # exported while recorded
        elif key == "end_utc":
            try:
                end = dt.datetime.fromisoformat(value)
            except ValueError:
                raise FileFormatError(f"{p}:{n}: end_utc {value[:40]!r} is not an ISO 8601 time") from None
            if end.tzinfo is None:
                raise FileFormatError(f"{p}:{n}: end_utc {value[:40]!r} has no UTC offset")
            session["end_utc"] = end
        elif key in ("settings", "summary"):
            data = _parse_json(p, n, key, value)
            if not isinstance(data, dict):
                raise FileFormatError(f"{p}:{n}: {key} must be a JSON object, got {value[:40]!r}")
            session[key] = data
        elif key in RATING_KEYS:
            if not (value.isdigit() and 0 <= int(value) <= 10):
                raise FileFormatError(f"{p}:{n}: {key} {value[:40]!r} is not a whole number from 0 to 10")
            session["ratings"][key] = int(value)
        else:  # note
            note = _parse_json(p, n, key, value)
            if not isinstance(note, str):
                raise FileFormatError(f"{p}:{n}: note must be a JSON string, got {value[:40]!r}")
            session["note"] = note
    extra: list[list[float]] = [[], [], []]
    events: list[Event] = []
    last_t: float | None = None
    for n, line in lines:
        if n <= first or not line:
            continue
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            if key.strip() == "event":
                events.append(_event(p, n, value.strip()))
            continue
        cells = next(csv.reader([line]))
        if len(cells) != len(COLUMNS):
            raise FileFormatError(f"{p}:{n}: {len(cells)} cells; a beat row has {len(COLUMNS)} ({','.join(COLUMNS)})")
        t_s = _float_cell(p, n, "t_s", cells[0])
        rr_ms = _float_cell(p, n, "rr_ms", cells[1])
        if math.isnan(t_s) or math.isnan(rr_ms) or rr_ms <= 0:
            raise FileFormatError(f"{p}:{n}: a beat needs a time t_s and a positive rr_ms, got {line[:60]!r}")
        if last_t is not None and t_s <= last_t:
            raise FileFormatError(f"{p}:{n}: t_s {t_s!r} is not later than the beat before ({last_t!r} s)")
        last_t = t_s
        for column, cell, out in zip(COLUMNS[3:], cells[3:], extra, strict=True):
            out.append(_float_cell(p, n, column, cell))
    rec = read_recording(p)  # beats, flags, gaps, links and meta, as the beat CSV reader reads them
    if rec.n_beats != len(extra[0]):  # pragma: no cover - both readers see the same rows
        raise FileFormatError(f"{p}: {rec.n_beats} beats read but {len(extra[0])} rows")
    return SessionFile(
        path=p, kind="session-csv", recording=rec,
        hr_bpm=np.asarray(extra[0], dtype=np.float64), pace_bpm=np.asarray(extra[1], dtype=np.float64),
        phase=np.asarray(extra[2], dtype=np.float64),
        settings=session.get("settings", {}), summary=session.get("summary"),
        status=session.get("status", "complete"), end_utc=session.get("end_utc"), ratings=session["ratings"],
        note=session.get("note"), events=tuple(events),
        dated_from_mtime=rec.meta.start_estimated and "start_utc" not in header,
    )


def _event(p: Path, n: int, value: str) -> Event:
    data = _parse_json(p, n, "event", value)
    if not isinstance(data, dict):
        raise FileFormatError(f"{p}:{n}: an event line needs a JSON object, got {value[:40]!r}")
    try:
        t_s = float(data["t_s"])
        kind = data["kind"]
        detail = data.get("detail", "")
        stage = data.get("stage")
        extra = data.get("data") or {}
    except (KeyError, TypeError, ValueError):
        raise FileFormatError(f"{p}:{n}: an event line needs t_s (a number) and kind") from None
    if not (isinstance(kind, str) and kind and isinstance(detail, str) and (stage is None or isinstance(stage, str))
            and isinstance(extra, dict) and math.isfinite(t_s)):
        raise FileFormatError(f"{p}:{n}: an event's kind, detail and stage are text and its data an object")
    if kind in _OWN_LINES:
        raise FileFormatError(f"{p}:{n}: a {kind} event goes on a '# {'gap' if kind == 'gap' else 'link'}:' line")
    return Event(t_s=t_s, kind=kind, detail=detail, stage=stage, data=extra)


# ---------------------------------------------------------------------------- into the store


def _key(meta: RecordingMeta, n_beats: int) -> tuple[dt.datetime, str, int]:
    return (meta.start_utc, meta.source, n_beats)


def import_files(
    store: SessionStore,
    paths: Sequence[str | os.PathLike[str]],
    file_format: str = "auto",
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[ImportResult]:
    """Read and check every file, then store each as a new session (one transaction each).

    Every file is read before the first is stored, so a malformed one refuses the whole
    import and the store is unchanged. A file whose session is in the store already (same
    start, source and number of beats), or twice among ``paths``, is skipped.

    Parameters
    ----------
    store : SessionStore
    paths : sequence of path-like
    file_format : {"auto", "csv", "rr-ms", "rr-s"}
        See :func:`read_session_file`.
    progress : callable, optional
        Called as ``progress(done, total)`` after each file read and each stored (``total``
        is twice the number of files).

    Raises
    ------
    FileFormatError
        A file cannot be read or is malformed (nothing is stored).
    StoreError
        The store cannot be written.
    """
    total = 2 * len(paths)
    files: list[SessionFile] = []
    for i, path in enumerate(paths, 1):
        files.append(read_session_file(path, file_format))
        if progress is not None:
            progress(i, total)
    known = {_key(s.meta, s.n_beats) for s in store.sessions()}
    results: list[ImportResult] = []
    for i, f in enumerate(files, len(files) + 1):
        key = _key(f.recording.meta, f.recording.n_beats)
        sid: int | None = None
        if key not in known:
            sid = store.add_recording(
                f.recording, settings=f.settings, summary=f.summary, status=f.status, end_utc=f.end_utc,
                hr_bpm=f.hr_bpm, pace_bpm=f.pace_bpm, phase=f.phase, events=f.events, ratings=f.ratings,
                note=f.note,
            )
            known.add(key)
        results.append(ImportResult(f, sid))
        if progress is not None:
            progress(i, total)
    return results


def session_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The interchange CSVs (``*.csv``) in ``folder``, by name."""
    return sorted(Path(folder).glob("*.csv"))

