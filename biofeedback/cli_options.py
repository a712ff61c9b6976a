"""The command-line options several commands share, worded once (shell: argparse only)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_data_dir", "add_force"]

DATA_DIR_DEFAULT = "(default: $BIOFEEDBACK_HOME, else the user data folder)"


def add_data_dir(p: argparse.ArgumentParser, what: str = "the data folder holding sessions.db") -> None:
    """``--data-dir DIR``: the data folder, described as ``what`` for this command."""
    p.add_argument("--data-dir", type=Path, metavar="DIR", help=f"{what} {DATA_DIR_DEFAULT}")


def add_force(p: argparse.ArgumentParser) -> None:
    """``--force``: replace an existing file that biofeedback did not write."""
    p.add_argument("--force", action="store_true", help="replace an existing file that biofeedback did not write")
