"""Where the tests find their recordings: inside the repository, never beside it.

``DATA`` holds every recording a test reads, with origin and licence (``tests/data/README.md``);
``SAMPLE_DATA`` is the folder users see, ``PACKAGE_DATA`` what the installed demo plays.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SAMPLE_DATA = ROOT / "sample_data"
PACKAGE_DATA = ROOT / "biofeedback" / "data"
