"""Where biofeedback keeps a user's files: the data folder, and new file names in it.

The data folder is ``$BIOFEEDBACK_HOME`` when that is set, else the platform's user data
folder (``platformdirs.user_data_dir("biofeedback")``: ``~/.local/share/biofeedback`` on
Linux). A folder we create is readable by its owner only (mode 0700): it holds health data.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Final

from biofeedback.errors import FileFormatError, StoreError

__all__ = ["CALM_LINES_FILE", "HOME_ENV", "STORE_FILE", "calm_lines_path", "data_dir", "existing_store_path",
           "new_file", "private_folder", "store_path"]

HOME_ENV: Final[str] = "BIOFEEDBACK_HOME"
PRIVATE_DIR_MODE: Final[int] = 0o700
CALM_LINES_FILE: Final[str] = "calm-lines.txt"  # the person's own calm lines, in the data folder
STORE_FILE: Final[str] = "sessions.db"  # the session store, in the data folder


def data_dir() -> Path:
    """The data folder, created (mode 0700) if it is not there.

    Raises
    ------
    FileFormatError
        The folder cannot be created; the message names it and the variable to set.
    """
    override = os.environ.get(HOME_ENV)
    if override:
        folder = Path(override).expanduser()
    else:
        import platformdirs  # only where a command needs the folder

        folder = Path(platformdirs.user_data_dir("biofeedback", appauthor=False))
    return private_folder(folder, f"the data folder {folder}", f"set {HOME_ENV} to a folder you can write")


def private_folder(folder: Path, what: str, fix: str) -> Path:
    """``folder``, created with any missing parents if it is not there (``folder`` itself mode 0700).

    Raises
    ------
    FileFormatError
        It cannot be created: ``"cannot create WHAT: REASON; FIX"``.
    """
    if not folder.is_dir():
        try:
            folder.mkdir(parents=True, mode=PRIVATE_DIR_MODE)
            os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask
        except OSError as exc:
            raise FileFormatError(f"cannot create {what}: {exc.strerror}; {fix}") from None
    return folder


def new_file(stem: str, suffix: str, *, folder: Path | None = None, now: dt.datetime | None = None) -> Path:
    """A name for a new file that is not taken: ``FOLDER/STEM-YYYYmmdd-HHMMSS.SUFFIX``.

    With a ``-2``, ``-3`` ... before the suffix when a file of that second is there already.
    Nothing is created. ``folder`` defaults to :func:`data_dir`; ``now`` to the local time.
    """
    folder = data_dir() if folder is None else folder
    stamp = (now or dt.datetime.now().astimezone()).strftime("%Y%m%d-%H%M%S")
    suffix = suffix if suffix.startswith(".") or not suffix else f".{suffix}"
    candidate = folder / f"{stem}-{stamp}{suffix}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{stem}-{stamp}-{n}{suffix}"
    return candidate


def calm_lines_path(folder: str | os.PathLike[str] | None = None) -> Path:
    """The file of the person's own calm lines (``biofeedback calm-lines FILE``) in the data
    folder: ``folder`` (a command's ``--data-dir``) when given, else :func:`data_dir`. The
    file may not be there (then the prompt shows the default lines)."""
    return (data_dir() if folder is None else Path(folder).expanduser()) / CALM_LINES_FILE


def store_path(folder: str | os.PathLike[str] | None = None) -> Path:
    """The session store's file (:class:`biofeedback.store.SessionStore`) in the data folder:
    ``folder`` (a command's ``--data-dir``) when given, else :func:`data_dir`. The file may
    not be there yet."""
    return (data_dir() if folder is None else Path(folder).expanduser()) / STORE_FILE


def existing_store_path(folder: str | os.PathLike[str] | None = None) -> Path:
    """:func:`store_path`, for a command that only reads the store (and must not create one).

    Raises
    ------
    StoreError
        There is no store there yet, with what makes one.
    """
    path = store_path(folder)
    if not path.is_file():
        raise StoreError(f"no session store at {path}: 'biofeedback train' or 'biofeedback import' makes one "
                         "(or give --data-dir)")
    return path
