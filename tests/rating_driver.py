"""Asks the two rating questions in a real terminal, as ``train`` does (the tests run it in tmux).

``python tests/rating_driver.py RESULT_FILE before|after [WAIT_S]``: writes its pid to
``RESULT_FILE.pid``, (waits WAIT_S seconds after printing ``waiting``, as a session would
run before the questions after it), asks on standard input and output, then writes the
answers to RESULT_FILE as JSON and prints ``answers=...``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from biofeedback.display.rating import ask_ratings


def main(argv: list[str]) -> int:
    result, when = Path(argv[1]), argv[2]
    Path(str(result) + ".pid").write_text(str(os.getpid()))
    if len(argv) > 3:
        print("waiting", flush=True)
        time.sleep(float(argv[3]))
    answers = ask_ratings(when)  # type: ignore[arg-type]
    result.write_text(json.dumps(answers))
    print("answers=" + json.dumps(answers, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
