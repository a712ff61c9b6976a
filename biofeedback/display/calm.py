"""Calm lines: short, gentle words the prompt shows every few breaths.

A default set ships with the program; a person can give their own in a text file (UTF-8,
one short line per line, blank lines and ``#`` comments skipped). Which line shows is a
function of the breath index only, so a replayed session shows the same lines at the same
breaths.

``biofeedback calm-lines FILE`` keeps the person's lines in their data folder
(:func:`store_calm_lines`, owner-only); :meth:`CalmLines.for_person` is what the prompt and
the sound mode show: those lines, or the defaults where none are kept.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Final

from biofeedback.errors import FileFormatError, InvalidInputError
from biofeedback.paths import calm_lines_path

__all__ = [
    "DEFAULT_CALM_LINES",
    "MAX_CALM_LINE_CHARS",
    "CalmLines",
    "forget_calm_lines",
    "parse_calm_lines",
    "read_calm_lines",
    "store_calm_lines",
]

MAX_CALM_LINE_CHARS: Final[int] = 60  # longest calm line, characters: it must fit one line of an 80-column prompt
BREATHS_PER_LINE: Final[int] = 3  # a new calm line every this many breaths

DEFAULT_CALM_LINES: Final[tuple[str, ...]] = (
    "It's going to be okay.",
    "You are safe to move slowly.",
    "Let the exhale be long and easy.",
    "There is nothing you need to do right now.",
    "Let your shoulders soften.",
    "Each breath can be a little slower.",
    "You can let the ground hold you.",
    "This moment is allowed to be just as it is.",
    "Breathe in gently, breathe out slowly.",
    "Your body knows how to settle.",
    "Let your jaw and your hands go loose.",
    "One breath at a time.",
)


def parse_calm_lines(text: str, source: str = "calm lines") -> tuple[str, ...]:
    """The calm lines of a text: one per line, stripped; blank lines and ``#`` comments skipped.

    Raises
    ------
    FileFormatError
        A line is longer than :data:`MAX_CALM_LINE_CHARS` or holds control characters
        (the message names ``source`` and the line number), or no line is left.
    """
    lines: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_CALM_LINE_CHARS:
            raise FileFormatError(f"{source}:{n}: the line has {len(line)} characters; a calm line may have at "
                                  f"most {MAX_CALM_LINE_CHARS}: shorten it or split it over two lines")
        if any(unicodedata.category(c) == "Cc" for c in line):
            raise FileFormatError(f"{source}:{n}: the line holds a control character (a tab or an escape code); "
                                  "write plain words")
        lines.append(line)
    if not lines:
        raise FileFormatError(f"{source}: no calm lines in it (blank lines and # comments are skipped); "
                              "write one short line per line")
    return tuple(lines)


def read_calm_lines(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """The calm lines of a UTF-8 text file (see :func:`parse_calm_lines`).

    Raises
    ------
    FileFormatError
        The file is missing, not UTF-8 text, or its lines are unusable; the message names the file
        (and the line).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise FileFormatError(f"{p}: no such file; give a text file of calm lines, one a line") from None
    except OSError as exc:
        raise FileFormatError(f"{p}: cannot read it ({exc.strerror}); give a readable text file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise FileFormatError(f"{p}:{line}: not UTF-8 text; save the file as UTF-8") from None
    return parse_calm_lines(text, source=str(p))


class CalmLines:
    """Chooses the calm line of each breath: a new line every ``breaths_per_line`` breaths.

    The lines come in their order, round and round, so every line shows before any repeats;
    the choice depends on the breath index only (a replay shows the same lines).

    Parameters
    ----------
    lines : sequence of str
        The lines (default :data:`DEFAULT_CALM_LINES`); at least one.
    breaths_per_line : int
        Breaths each line stays, >= 1.
    """

    def __init__(self, lines: tuple[str, ...] | list[str] = DEFAULT_CALM_LINES,
                 breaths_per_line: int = BREATHS_PER_LINE) -> None:
        if not lines:
            raise InvalidInputError("calm lines: at least one line is needed")
        if breaths_per_line < 1:
            raise InvalidInputError(f"breaths_per_line must be >= 1, got {breaths_per_line!r}")
        self.lines = tuple(lines)
        self.breaths_per_line = breaths_per_line

    @classmethod
    def from_file(cls, path: str | os.PathLike[str] | None,
                  breaths_per_line: int = BREATHS_PER_LINE) -> CalmLines:
        """The person's lines from ``path``, or the defaults where ``path`` is None."""
        return cls(DEFAULT_CALM_LINES if path is None else read_calm_lines(path), breaths_per_line)

    @classmethod
    def for_person(cls, folder: str | os.PathLike[str] | None = None,
                   breaths_per_line: int = BREATHS_PER_LINE) -> CalmLines:
        """The lines the person keeps (``biofeedback calm-lines FILE``), or the defaults.

        ``folder`` is the data folder (a command's ``--data-dir``; default
        :func:`biofeedback.paths.data_dir`).

        Raises
        ------
        FileFormatError
            The kept file was edited into one that is not usable; the message names it and
            the line (``biofeedback calm-lines --reset`` goes back to the defaults).
        """
        path = calm_lines_path(folder)
        return cls.from_file(path if path.is_file() else None, breaths_per_line)

    def line_for(self, breath_index: int) -> str:
        """The line to show during breath ``breath_index`` (0 = the first breath)."""
        if breath_index < 0:
            raise InvalidInputError(f"breath_index must be >= 0, got {breath_index!r}")
        return self.lines[(breath_index // self.breaths_per_line) % len(self.lines)]


_STORED_HEADER: Final[str] = ("# Your calm lines for biofeedback, one a line; the prompt shows them every few breaths.\n"
                              "# Stored by 'biofeedback calm-lines FILE'; 'biofeedback calm-lines --reset' goes back "
                              "to the defaults.\n")


def store_calm_lines(source: str | os.PathLike[str],
                     folder: str | os.PathLike[str] | None = None) -> tuple[Path, tuple[str, ...]]:
    """Keep the calm lines of the file ``source`` in the data folder, readable by the owner only (0600).

    The file is checked first (:func:`read_calm_lines`): a file with an unusable line is
    refused and nothing is stored (lines kept before stay as they were). The lines are
    written to a new file that then takes the old one's place, so a crash leaves the old
    lines or the new, never half of them.

    Returns
    -------
    path : Path
        Where they are kept (:func:`biofeedback.paths.calm_lines_path`).
    lines : tuple of str
        The lines kept.

    Raises
    ------
    FileFormatError
        ``source`` is missing, not UTF-8 or has an unusable line (the message names the
        line), or the data folder cannot be written.
    """
    from biofeedback.formats import open_private  # numpy comes with it: only where lines are stored

    lines = read_calm_lines(source)
    path = calm_lines_path(folder)
    if not path.parent.is_dir():
        raise FileFormatError(f"the data folder {path.parent} is not there; create it, or give another --data-dir")
    part = path.with_name(path.name + ".part")
    with open_private(part) as f:
        f.write(_STORED_HEADER + "".join(line + "\n" for line in lines))
    os.replace(part, path)
    return path, lines


def forget_calm_lines(folder: str | os.PathLike[str] | None = None) -> Path | None:
    """Go back to the default lines: remove the kept file; returns it, or None when there was none."""
    path = calm_lines_path(folder)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileFormatError(f"cannot remove {path}: {exc.strerror}; remove it by hand") from None
    return path
