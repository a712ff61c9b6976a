"""Reading and writing RR files of other tools, and our own beat CSV.

Read
    * plain text, one RR interval per line, in ms (Polar Sensor Logger, Elite HRV,
      PhysioNet exports, the files in ``sample_data/``); a first line that is not a number
      is taken as a header; blank lines and lines starting with ``#`` are skipped. A file
      whose every value is below 10 is taken to be in seconds and converted to ms.
    * CSV with a header that has an ``rr_ms`` column (what ``biofeedback record --out``
      writes), or ``rr`` / ``ibi`` / ``rr_s`` columns.
Write
    * beat CSV: header ``t_s,rr_ms,flags``, one row per beat, flushed row by row so that an
      interrupted session keeps every beat written so far; readable by its owner only.
"""

from __future__ import annotations

import csv
import errno
import logging
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Literal, Self, overload

import numpy as np
import numpy.typing as npt

from biofeedback.beats import Beat, BeatFlags, Gap
from biofeedback.errors import FileFormatError, InvalidInputError

__all__ = ["BeatCsvWriter", "check_writable", "flags_to_text", "open_private", "read_gaps", "read_rr_file"]

log = logging.getLogger(__name__)

PRIVATE_MODE: Final[int] = 0o600  # health data: owner read/write only
_SECONDS_THRESHOLD: Final[float] = 10.0  # all values below this: the file is in seconds
_RR_COLUMNS: Final[dict[str, float]] = {"rr_ms": 1.0, "rr": 1.0, "ibi": 1.0, "ibi_ms": 1.0, "rr_s": 1000.0}


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


def check_writable(path: str | os.PathLike[str]) -> None:
    """Check, without touching it, that :func:`open_private` could write ``path``.

    For a command that writes its file only once it has something to keep, so that a
    path it cannot write is reported at once and an existing file is left alone until then.

    Raises
    ------
    FileFormatError
        ``path`` is a folder, is not writable, or its folder is missing or not writable;
        the message is the one :func:`open_private` would give.
    """
    p = Path(path)
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
    return _checked(p, np.asarray(values, dtype=np.float64), scale=None)


def read_gaps(path: str | os.PathLike[str]) -> list[Gap]:
    """The gaps recorded in a beat CSV (what ``biofeedback record --out`` writes).

    Each beat flagged ``after_gap`` closes a gap from the beat before it to the start of
    its own interval (``t_s - rr_ms / 1000``), as :class:`~biofeedback.beats.BeatClock`
    recorded it. Files without ``t_s`` and ``flags`` columns have none.

    Raises
    ------
    FileFormatError
        The file cannot be read, or a row's ``t_s`` or ``rr_ms`` is not a number.
    """
    p = Path(path)
    lines = _lines(p)
    if not _is_csv(lines[0][1]):
        return []
    header, rows = _csv_rows(lines)
    if not {"t_s", "rr_ms", "flags"} <= set(header):
        return []
    t_col, rr_col, flags_col = header.index("t_s"), header.index("rr_ms"), header.index("flags")
    gaps: list[Gap] = []
    previous_t_s = 0.0
    for (n, _), row in zip(lines[1:], rows, strict=True):
        cells = [row[c].strip() if c < len(row) else "" for c in (t_col, rr_col)]
        if not all(_is_number(cell) for cell in cells):
            raise FileFormatError(f"{p}:{n}: t_s {cells[0][:40]!r} or rr_ms {cells[1][:40]!r} is not a number")
        t_s, rr_ms = float(cells[0]), float(cells[1])
        flags = row[flags_col].split("+") if flags_col < len(row) else []
        if "after_gap" in (f.strip() for f in flags):
            gaps.append(Gap(start_s=previous_t_s, end_s=t_s - rr_ms / 1000.0, reason="recorded"))
        previous_t_s = t_s
    return gaps


def _lines(p: Path) -> list[tuple[int, str]]:
    """The numbered non-blank, non-comment lines of a text file."""
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileFormatError(f"{p}: no such file; give the path of an RR file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{p}: cannot read it as text ({exc}); give a text or CSV RR file") from None
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1)]
    lines = [(n, ln) for n, ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise FileFormatError(f"{p}: the file is empty; expected one RR interval in ms per line")
    return lines


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


def _read_csv(p: Path, lines: list[tuple[int, str]]) -> npt.NDArray[np.float64]:
    header, rows = _csv_rows(lines)
    col = next((header.index(c) for c in _RR_COLUMNS if c in header), None)
    if col is None:
        raise FileFormatError(
            f"{p}: no RR column in the header {lines[0][1]!r}; expected one named rr_ms (or rr, ibi, rr_s)"
        )
    scale = _RR_COLUMNS[header[col]]
    values = []
    for (n, _), row in zip(lines[1:], rows, strict=True):
        cell = row[col].strip() if col < len(row) else ""
        if not _is_number(cell):
            raise FileFormatError(f"{p}:{n}: {cell[:40]!r} in column {header[col]} is not a number")
        values.append(float(cell) * scale)
    return _checked(p, np.asarray(values, dtype=np.float64), scale=scale)


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


class BeatCsvWriter:
    """Writes beats as CSV (``t_s,rr_ms,flags``), one flushed row per beat, mode 0600.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> with BeatCsvWriter(path) as w:
    ...     w.write(Beat(t_s=0.9375, rr_ms=937.5))
    >>> Path(path).read_text().splitlines()
    ['t_s,rr_ms,flags', '0.9375,937.5,']
    """

    HEADER: Final = ("t_s", "rr_ms", "flags")

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file = open_private(self.path)
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(self.HEADER)
        self._file.flush()
        self.rows = 0

    def write(self, beat: Beat) -> None:
        """Append one beat and flush it to disk."""
        self._csv.writerow((repr(beat.t_s), repr(beat.rr_ms), flags_to_text(beat.flags)))
        self._file.flush()
        self.rows += 1

    def close(self) -> None:
        """Close the file (every row is already flushed)."""
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
