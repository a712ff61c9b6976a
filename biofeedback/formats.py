"""Reading and writing RR files of other tools, and our own beat CSV.

Read
    * plain text, one RR interval per line, in ms (Polar Sensor Logger, Elite HRV,
      PhysioNet exports, the files in ``sample_data/``); a first line that is not a number
      is taken as a header; blank lines and lines starting with ``#`` are skipped. A file
      whose every value is below 10 is taken to be in seconds and converted to ms.
    * CSV with a header that has an ``rr_ms`` column (what ``biofeedback record --out``
      writes), or ``rr`` / ``ibi`` / ``rr_s`` columns.
Write
    * beat CSV (:class:`BeatCsvWriter`, or :class:`BeatCsvSink` in a live session): a
      :class:`~biofeedback.recording.Recording` as text, readable by its owner only, flushed
      line by line so that an interrupted session keeps every beat written so far::

          # format: biofeedback-beats/1
          # start_utc: 2026-01-05T07:30:00.250000+00:00
          # utc_offset_s: 3600
          # source: ble
          # device_name: Polar H10 A1B2C3D4
          # device_address: A0:9E:1A:12:34:56
          # software_version: 0.1.0
          t_s,rr_ms,flags
          0.9375,937.5,
          # link: {"t_s": 0.9375, "kind": "lost", "detail": "link lost"}
          # link: {"t_s": 0.9375, "kind": "restored", "detail": "after 2 attempts"}
          # gap: {"start_s": 0.9375, "end_s": 12.5, "reason": "link lost"}
          13.4375,937.5,after_gap

      The metadata are commented ``# key: value`` lines before the header; a gap (with its
      reason) or a link event is a commented line in time order, a gap just before the beat
      that closes it. Every number is written as Python's ``repr``, so
      :func:`read_recording` gives back the same recording to the bit. Tools that skip
      ``#`` lines (pandas ``comment="#"``) read the rows as a plain CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import json
import logging
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Literal, Self, overload

import numpy as np
import numpy.typing as npt

from biofeedback.beats import Beat, BeatFlags, Gap
from biofeedback.errors import FileFormatError, InvalidInputError
from biofeedback.pieces import Piece, SessionEvent
from biofeedback.recording import LinkEvent, Recording, RecordingMeta

__all__ = [
    "BeatCsvSink",
    "BeatCsvWriter",
    "check_writable",
    "flags_to_text",
    "mark_wav",
    "meta_from_header",
    "meta_lines",
    "open_private",
    "read_recording",
    "read_rr_file",
    "read_rr_values",
    "write_recording",
    "written_by_biofeedback",
]

log = logging.getLogger(__name__)

PRIVATE_MODE: Final[int] = 0o600  # health data: owner read/write only
_SECONDS_THRESHOLD: Final[float] = 10.0  # all values below this: the file is in seconds
_RR_COLUMNS: Final[dict[str, float | None]] = {  # column name -> ms per unit (None: the values tell)
    "rr_ms": 1.0, "rr": None, "ibi": None, "ibi_ms": 1.0, "rr_s": 1000.0, "rr-interval [ms]": 1.0,
}
BEAT_CSV_FORMAT: Final[str] = "biofeedback-beats/1"  # the first line of a beat CSV: "# format: ..."
_BEAT_COLUMNS: Final = ("t_s", "rr_ms", "flags")
_META_KEYS: Final = ("start_utc", "utc_offset_s", "source", "device_name", "device_address", "software_version",
                     "start_estimated")
_OURS_MARK: Final[bytes] = b"biofeedback"  # in the metadata of every image we draw
_IMAGE_MAGIC: Final = (b"\x89PNG", b"%PDF", b"<?xml", b"%!PS")  # the images save_figure writes with our name
_OURS_SEARCH_BYTES: Final[int] = 1 << 24  # how much of a file to search for it (a PDF has it at its end)


@overload
def open_private(path: str | os.PathLike[str], mode: Literal["w", "a"] = "w") -> IO[str]: ...


@overload
def open_private(path: str | os.PathLike[str], mode: Literal["wb"]) -> IO[bytes]: ...


def open_private(path: str | os.PathLike[str], mode: str = "w") -> IO[str] | IO[bytes]:
    """Open a file for writing that only its owner can read (mode 0600).

    ``"w"`` and ``"a"`` give a UTF-8 text file, truncated or appended to; ``"wb"`` a
    binary one, truncated. An existing file has its mode tightened.

    Raises
    ------
    FileFormatError
        The file cannot be created or opened (missing folder, no permission); the message
        names it.
    """
    if mode not in ("w", "a", "wb"):
        raise InvalidInputError(f"open_private mode must be 'w', 'a' or 'wb', got {mode!r}")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    try:
        fd = os.open(path, flags, PRIVATE_MODE)
    except OSError as exc:
        raise FileFormatError(f"cannot write {os.fspath(path)}: {exc.strerror}; choose another path") from None
    os.fchmod(fd, PRIVATE_MODE)
    if mode == "wb":
        return open(fd, "wb")
    return open(fd, mode, encoding="utf-8", newline="")


_WAV_MARK: Final[bytes] = b"LIST\x18\x00\x00\x00INFOISFT\x0c\x00\x00\x00biofeedback\x00"  # a RIFF INFO chunk


def mark_wav(path: str | os.PathLike[str]) -> None:
    """Append our mark to a WAV file: a RIFF ``LIST/INFO`` chunk naming the software
    (``ISFT`` = "biofeedback"), which players ignore, so that :func:`written_by_biofeedback`
    knows the file as ours; the RIFF size is updated to include it."""
    with open(path, "r+b") as f:
        f.seek(0, os.SEEK_END)
        f.write(_WAV_MARK)
        size = f.tell() - 8
        f.seek(4)
        f.write(size.to_bytes(4, "little"))


def written_by_biofeedback(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file biofeedback wrote: a beat CSV (this format or the older
    ``t_s,rr_ms,flags`` one), an image :func:`biofeedback.plots.save_figure` drew, or a
    WAV track carrying :func:`mark_wav`'s mark at its end."""
    try:
        with open(path, "rb") as f:
            content = f.read(_OURS_SEARCH_BYTES)
            if content.startswith(b"RIFF"):
                f.seek(max(0, os.fstat(f.fileno()).st_size - len(_WAV_MARK)))
                return f.read() == _WAV_MARK
    except OSError:
        return False
    if content.startswith((b"# format: biofeedback", b"t_s,rr_ms,flags\n")):
        return True
    return content.startswith(_IMAGE_MAGIC) and _OURS_MARK in content


def check_writable(path: str | os.PathLike[str], *, force: bool = False) -> None:
    """Check, without touching it, that :func:`open_private` could write ``path``.

    For a command that writes its file only once it has something to keep, so that a
    path it cannot write is reported at once and an existing file is left alone until then.
    An existing file that biofeedback did not write (:func:`written_by_biofeedback`) is a
    user's own: it is refused unless ``force``.

    Raises
    ------
    FileFormatError
        ``path`` is a folder, is not writable, or its folder is missing or not writable
        (the message is the one :func:`open_private` would give); or it is a file of the
        user's that ``force`` does not allow to replace.
    """
    p = Path(path)
    if p.is_file() and not force and not written_by_biofeedback(p):
        raise FileFormatError(
            f"{os.fspath(path)} exists and was not written by biofeedback; choose another file, "
            "or add --force to replace it"
        )
    folder = p.parent
    if p.is_dir():
        code = errno.EISDIR
    elif p.exists():
        code = 0 if os.access(p, os.W_OK) else errno.EACCES
    elif not folder.is_dir():
        code = errno.ENOENT if not folder.exists() else errno.ENOTDIR
    else:
        code = 0 if os.access(folder, os.W_OK | os.X_OK) else errno.EACCES
    if code:
        raise FileFormatError(f"cannot write {os.fspath(path)}: {os.strerror(code)}; choose another path")


def flags_to_text(flags: BeatFlags) -> str:
    """Beat flags as ``after_gap+no_contact`` (empty when none)."""
    return "+".join(f.name.lower() for f in BeatFlags if f and f in flags and f.name)


def read_rr_file(path: str | os.PathLike[str]) -> npt.NDArray[np.float64]:
    """Read RR intervals, in ms, from a text or CSV file.

    Raises
    ------
    FileFormatError
        The file is missing, unreadable, empty, or a line is not an interval; the message
        names the file and line.
    """
    p = Path(path)
    _, values, scale = read_rr_values(p)
    return _checked(p, np.asarray(values, dtype=np.float64) * (scale or 1.0), scale=scale)


def read_rr_values(path: str | os.PathLike[str]) -> tuple[list[int], list[float], float | None]:
    """The numbers of an RR file as written, each with its line number, and their unit.

    Returns
    -------
    line_numbers : list of int
        The line (1 = first) each value is on.
    values : list of float
        The values as written, not converted.
    scale : float or None
        ms per unit when the file says it (a CSV column ``rr_ms``: 1.0, ``rr_s``: 1000.0);
        None for plain numbers and the columns ``rr`` and ``ibi``, whose unit the caller
        decides (:func:`read_rr_file`: ms, unless every value is below 10, then s).

    Raises
    ------
    FileFormatError
        The file is missing, unreadable, empty, or a line is not a number; the message
        names the file and line.
    """
    p = Path(path)
    lines = _lines(p)
    first = lines[0][1]
    if _is_csv(first):
        return _read_csv(p, lines)
    if not _is_number(first):
        lines = lines[1:]  # a one-word header such as "RR"
    values = []
    for n, ln in lines:
        if not _is_number(ln):
            raise FileFormatError(f"{p}:{n}: {ln[:40]!r} is not a number; expected one RR interval in ms per line")
        values.append(float(ln))
    return [n for n, _ in lines], values, None


def _lines(p: Path) -> list[tuple[int, str]]:
    """The numbered non-blank, non-comment lines of a text file."""
    return [(n, ln) for n, ln in _all_lines(p) if ln and not ln.startswith("#")]


def _is_csv(first_line: str) -> bool:
    return "," in first_line or ";" in first_line or "\t" in first_line


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _csv_rows(lines: list[tuple[int, str]]) -> tuple[list[str], list[list[str]]]:
    """The header (stripped, lower case) and the data rows of a CSV file's lines."""
    dialect = csv.Sniffer().sniff(lines[0][1], delimiters=",;\t")
    rows = list(csv.reader((ln for _, ln in lines), dialect))
    return [h.strip().lower() for h in rows[0]], rows[1:]


def _read_csv(p: Path, lines: list[tuple[int, str]]) -> tuple[list[int], list[float], float | None]:
    header, rows = _csv_rows(lines)
    col = next((header.index(c) for c in _RR_COLUMNS if c in header), None)
    if col is None:
        raise FileFormatError(
            f"{p}: no RR column in the header {lines[0][1]!r}; expected one named rr_ms (or rr, ibi, rr_s, RR-interval [ms])"
        )
    scale = _RR_COLUMNS[header[col]]
    values = []
    for (n, _), row in zip(lines[1:], rows, strict=True):
        cell = row[col].strip() if col < len(row) else ""
        if not _is_number(cell):
            raise FileFormatError(f"{p}:{n}: {cell[:40]!r} in column {header[col]} is not a number")
        values.append(float(cell))
    return [n for n, _ in lines[1:]], values, scale


def _checked(p: Path, rr: npt.NDArray[np.float64], scale: float | None) -> npt.NDArray[np.float64]:
    if rr.size == 0:
        raise FileFormatError(f"{p}: no RR intervals in the file")
    if not np.all(np.isfinite(rr)) or np.any(rr <= 0):
        bad = int(np.flatnonzero(~np.isfinite(rr) | (rr <= 0))[0])
        raise FileFormatError(f"{p}: interval {bad + 1} ({rr[bad]}) is not a positive number of ms")
    if scale is None and float(np.max(rr)) < _SECONDS_THRESHOLD:
        log.info("%s: all values below %g, reading them as seconds", p, _SECONDS_THRESHOLD)
        rr = rr * 1000.0
    return rr


def _comment(key: str, value: str) -> str:
    return f"# {key}: {value}\n"


def meta_lines(meta: RecordingMeta, file_format: str = BEAT_CSV_FORMAT) -> list[str]:
    """A recording's metadata as the commented ``# key: value`` lines of a beat CSV, each
    ending in a newline, the first ``# format: FILE_FORMAT``; :func:`read_recording` and
    :func:`meta_from_header` read them back."""
    lines = [_comment("format", file_format), _comment("start_utc", meta.start_utc.isoformat()),
             _comment("utc_offset_s", str(meta.utc_offset_s)), _comment("source", meta.source)]
    for key, value in (("device_name", meta.device_name), ("device_address", meta.device_address)):
        if value is not None:
            lines.append(_comment(key, value))
    lines.append(_comment("software_version", meta.software_version))
    if meta.start_estimated:
        lines.append(_comment("start_estimated", "true"))
    if any("\n" in line[:-1] or "\r" in line for line in lines):
        raise InvalidInputError(f"recording metadata must not hold line breaks: {meta!r}")
    return lines


def _event_line(event: SessionEvent) -> str:
    if isinstance(event, Gap):
        return _comment("gap", json.dumps({"start_s": event.start_s, "end_s": event.end_s, "reason": event.reason}))
    return _comment("link", json.dumps({"t_s": event.t_s, "kind": event.kind, "detail": event.detail}))


class BeatCsvWriter:
    """Writes a recording as a beat CSV (see the module docstring), flushed line by line, mode 0600.

    Parameters
    ----------
    path : path-like
    meta : RecordingMeta or None
        Written as the commented header lines; None writes none (a bare ``t_s,rr_ms,flags``
        file, which reads back with an estimated start).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> with BeatCsvWriter(path) as w:
    ...     w.write(Beat(t_s=0.9375, rr_ms=937.5))
    >>> Path(path).read_text().splitlines()
    ['t_s,rr_ms,flags', '0.9375,937.5,']
    """

    HEADER: Final = _BEAT_COLUMNS

    def __init__(self, path: str | os.PathLike[str], meta: RecordingMeta | None = None) -> None:
        self.path = Path(path)
        head = meta_lines(meta) if meta is not None else []
        self._file = open_private(self.path)
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._file.writelines(head)
        self._csv.writerow(self.HEADER)
        self._file.flush()
        self.rows = 0

    def write(self, beat: Beat) -> None:
        """Append one beat and flush it to disk."""
        self._csv.writerow((repr(beat.t_s), repr(beat.rr_ms), flags_to_text(beat.flags)))
        self._file.flush()
        self.rows += 1

    def write_event(self, event: SessionEvent) -> None:
        """Append a gap (just before the beat that closes it) or a link event, and flush."""
        self._file.write(_event_line(event))
        self._file.flush()

    def close(self) -> None:
        """Close the file (every line is already flushed)."""
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def write_recording(path: str | os.PathLike[str], recording: Recording) -> None:
    """Write a whole recording as a beat CSV (gaps and link events in time order)."""
    gaps = iter(recording.gaps)
    links = list(recording.link_events)
    with BeatCsvWriter(path, recording.meta) as writer:
        for beat in recording.beats():
            while links and links[0].t_s < beat.t_s:
                writer.write_event(links.pop(0))
            if beat.flags & BeatFlags.AFTER_GAP:
                writer.write_event(next(gaps))
            writer.write(beat)
        for event in links:
            writer.write_event(event)


class BeatCsvSink(Piece):
    """A session sink that writes the beat CSV, created at the first beat.

    An earlier file at ``path`` is replaced only once there is a beat to keep: a session
    that records nothing leaves it alone. Check the path first with :func:`check_writable`.

    Attributes
    ----------
    path : Path
    writer : BeatCsvWriter or None
        Once the session has begun.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.writer: BeatCsvWriter | None = None

    def begin(self, meta: RecordingMeta) -> None:
        self.writer = BeatCsvWriter(self.path, meta)

    def beat(self, beat: Beat) -> None:
        if self.writer is not None:
            self.writer.write(beat)

    def event(self, event: SessionEvent) -> None:
        if self.writer is not None:
            self.writer.write_event(event)

    def finish(self, recording: Recording) -> None:
        if self.writer is not None:
            self.writer.close()


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a recording: a beat CSV with everything it holds, or any RR file.

    A beat CSV gives its beats, flags, gaps with their reasons, link events and metadata
    back as written. A beat CSV of an older version without gap lines gives its gaps the
    reason ``"unknown"``. Any other RR file (:func:`read_rr_file`) is one unbroken stretch
    of beats. A file without a start time gets one, estimated as its modification time
    minus its length, and marked so (``meta.start_estimated``), so that every recording
    can go on a trend.

    Raises
    ------
    FileFormatError
        The file cannot be read, or a line of it is not what the format says; the message
        names the file and line.
    """
    p = Path(path)
    text_lines = _all_lines(p)
    meta_values: dict[str, str] = {}
    header_at = None
    for n, line in text_lines:
        if not line:
            continue
        if line.startswith("#"):
            fields = _comment_fields(line)
            if fields is not None and fields[0] in (*_META_KEYS, "format"):
                meta_values[fields[0]] = fields[1].strip()
            continue
        header_at = n
        break
    body = [(n, ln) for n, ln in text_lines if header_at is not None and n > header_at]
    header = next((ln for n, ln in text_lines if n == header_at), "")
    columns = [c.strip().lower() for c in header.split(",")] if _is_csv(header) else []
    if columns[:3] == list(_BEAT_COLUMNS):
        t_s, rr_ms, flags, gaps, links = _beat_rows(p, body)
        duration_s = t_s[-1] if t_s else 0.0
        meta = _meta(p, meta_values, duration_s)
        try:
            return Recording(
                meta=meta,
                t_s=np.asarray(t_s, dtype=np.float64),
                rr_ms=np.asarray(rr_ms, dtype=np.float64),
                flags=np.asarray(flags, dtype=np.int64),
                gaps=tuple(gaps),
                link_events=tuple(links),
            )
        except InvalidInputError as exc:
            raise FileFormatError(f"{p}: not a consistent recording: {exc}") from None
    rr = read_rr_file(p)
    return Recording.from_rr(rr, _meta(p, meta_values, float(np.sum(rr)) / 1000.0))


def _all_lines(p: Path) -> list[tuple[int, str]]:
    """Every line of a text file, numbered, stripped; one that is not blank or a comment is needed."""
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileFormatError(f"{p}: no such file; give the path of an RR file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{p}: cannot read it as text ({exc}); give a text or CSV RR file") from None
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1)]
    if not any(ln and not ln.startswith("#") for _, ln in lines):
        raise FileFormatError(f"{p}: the file is empty; expected one RR interval in ms per line")
    return lines


def _comment_fields(line: str) -> tuple[str, str] | None:
    """The key and value of a ``# key: value`` line (:func:`_comment`'s), or None for another line."""
    if not line.startswith("#"):
        return None
    key, sep, value = line[1:].partition(":")
    return (key.strip(), value) if sep else None


_FLAG_NAMES: Final[dict[str, BeatFlags]] = {f.name.lower(): f for f in BeatFlags if f and f.name}


def _beat_rows(
    p: Path, body: list[tuple[int, str]]
) -> tuple[list[float], list[float], list[int], list[Gap], list[LinkEvent]]:
    t_s: list[float] = []
    rr_ms: list[float] = []
    flags: list[int] = []
    gaps: list[Gap] = []
    links: list[LinkEvent] = []
    pending_gap: Gap | None = None
    for n, line in body:
        if not line:
            continue
        if line.startswith("#"):
            key, value = _comment_fields(line) or ("", "")
            if key == "gap":
                data = _json(p, n, value)
                try:
                    pending_gap = Gap(float(data["start_s"]), float(data["end_s"]), str(data["reason"]))
                except (KeyError, TypeError, ValueError):
                    raise FileFormatError(f"{p}:{n}: a gap line needs start_s, end_s and reason") from None
            elif key == "link":
                data = _json(p, n, value)
                if data.get("kind") not in ("lost", "restored"):
                    raise FileFormatError(f"{p}:{n}: a link line's kind must be 'lost' or 'restored'")
                try:
                    links.append(LinkEvent(float(data["t_s"]), data["kind"], str(data.get("detail", ""))))
                except (KeyError, TypeError, ValueError):
                    raise FileFormatError(f"{p}:{n}: a link line needs t_s and kind") from None
            continue
        cells = next(csv.reader([line]))
        cells += [""] * (3 - len(cells))
        if not (_is_number(cells[0]) and _is_number(cells[1])):
            raise FileFormatError(f"{p}:{n}: t_s {cells[0][:40]!r} or rr_ms {cells[1][:40]!r} is not a number")
        flag = BeatFlags.NONE
        for name in filter(None, (f.strip() for f in cells[2].split("+"))):
            if name not in _FLAG_NAMES:
                raise FileFormatError(f"{p}:{n}: unknown flag {name[:40]!r}; expected {', '.join(_FLAG_NAMES)}")
            flag |= _FLAG_NAMES[name]
        t, rr = float(cells[0]), float(cells[1])
        if flag & BeatFlags.AFTER_GAP:
            # a file of an older version has no gap lines: the gap is where the beat clock put it
            gaps.append(pending_gap or Gap(start_s=t_s[-1] if t_s else 0.0, end_s=t - rr / 1000.0, reason="unknown"))
        pending_gap = None
        t_s.append(t)
        rr_ms.append(rr)
        flags.append(int(flag))
    if not t_s:
        raise FileFormatError(f"{p}: no beats in the file")
    return t_s, rr_ms, flags, gaps, links


def _json(p: Path, n: int, value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise FileFormatError(f"{p}:{n}: {value.strip()[:40]!r} is not the JSON object this line needs")
    return data


def meta_from_header(path: str | os.PathLike[str], values: dict[str, str], duration_s: float) -> RecordingMeta:
    """The metadata of a file's ``# key: value`` header lines (``values``, as
    :func:`meta_lines` writes them); without a ``start_utc``, a start estimated as the
    file's modification time minus ``duration_s`` (s), marked ``start_estimated``.

    Raises
    ------
    FileFormatError
        A value is not what its key needs; the message names the file.
    """
    return _meta(Path(path), values, duration_s)


def _meta(p: Path, values: dict[str, str], duration_s: float) -> RecordingMeta:
    """The metadata of the header lines; without a start, one estimated from the file's time."""
    try:
        offset_s = int(values.get("utc_offset_s", "0"))
    except ValueError:
        raise FileFormatError(f"{p}: utc_offset_s {values['utc_offset_s'][:40]!r} is not a whole number of s") from None
    if "start_utc" in values:
        try:
            start = dt.datetime.fromisoformat(values["start_utc"])
        except ValueError:
            raise FileFormatError(f"{p}: start_utc {values['start_utc'][:40]!r} is not an ISO 8601 time") from None
        estimated = values.get("start_estimated", "false").lower() == "true"
    else:
        modified = dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC)
        start = modified - dt.timedelta(seconds=duration_s)
        local = modified.astimezone()
        offset_s = round((local.utcoffset() or dt.timedelta(0)).total_seconds())
        estimated = True
    try:
        return RecordingMeta(
            start_utc=start.astimezone(dt.UTC) if start.tzinfo is not None else start,
            utc_offset_s=offset_s,
            source=values.get("source", f"file:{p.name}"),
            device_name=values.get("device_name"),
            device_address=values.get("device_address"),
            software_version=values.get("software_version", ""),
            start_estimated=estimated,
        )
    except InvalidInputError as exc:
        raise FileFormatError(f"{p}: {exc}") from None
