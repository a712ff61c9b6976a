"""Drives a terminal display through the frames of one breath, one step per command.

Run in a real terminal (the tests run it in tmux):
``python tests/prompt_driver.py COMMAND_FILE full|minimal|progress [CALM_FILE|DATA_DIR]`` (a
data folder: the calm lines kept there, as ``train`` shows them). It writes
its pid next to COMMAND_FILE (``.pid``) and then reads COMMAND_FILE as lines are appended:
a step number shows that step's frame (``rN``: with the strap reconnecting), ``raise`` raises an error inside the display,
``quit`` leaves normally. Ctrl-C and SIGTERM end it as they would end a session.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from biofeedback.display.calm import CalmLines
from biofeedback.display.prompt import PromptFrame
from biofeedback.display.progress import ProgressLine
from biofeedback.display.terminal import TerminalPrompt

# One breath at 6 breaths/min, 40% of it breathing in: (fullness, part, part_left_s, heart rate bpm).
STEPS: list[tuple[float, str, float, float]] = [
    (0.00, "inhale", 4.0, 61.0),  # the start: lungs empty
    (0.50, "inhale", 2.0, 62.0),
    (1.00, "exhale", 6.0, 63.0),  # full
    (0.50, "exhale", 3.0, 64.0),
    (0.05, "exhale", 0.5, 65.0),  # nearly empty again
]
STEP_S = 2.0  # session time between steps, s
BREATH_INDEX = 4  # the breath the steps belong to (chooses the calm line)


def frame(step: int, calm: CalmLines, reconnecting: bool = False) -> PromptFrame:
    fullness, part, left_s, hr = STEPS[step]
    return PromptFrame(fullness=fullness, part=part, part_left_s=left_s, pace_bpm=6.0,  # type: ignore[arg-type]
                       heart_rate_bpm=hr, swing_bpm=11.8, swing_trend_bpm=1.3, swing_target_bpm=15.0,
                       stage="exploring", reason="slower: the swing grew at 6.5 breaths/min",
                       elapsed_s=62.0 + STEP_S * step, remaining_s=538.0 - STEP_S * step, battery_percent=87,
                       corrected_share=0.004, calm_line=calm.line_for(BREATH_INDEX), reconnecting=reconnecting,
                       reconnect_text="strap reconnecting (attempt 2)…" if reconnecting else "")


def main(argv: list[str]) -> int:
    commands, mode = Path(argv[1]), argv[2]
    calm_from = Path(argv[3]) if len(argv) > 3 else None  # a file of calm lines, or a data folder
    calm = CalmLines.for_person(calm_from) if calm_from is not None and calm_from.is_dir() else \
        CalmLines.from_file(calm_from)
    Path(str(commands) + ".pid").write_text(str(os.getpid()))
    display: AbstractContextManager[Any]
    display = ProgressLine(sys.stdout) if mode == "progress" else TerminalPrompt(mode=mode)  # type: ignore[arg-type]
    done = 0
    with display as d:
        while True:
            lines = commands.read_text().splitlines() if commands.exists() else []
            for cmd in lines[done:]:
                done += 1
                if cmd == "quit":
                    return 0
                if cmd == "raise":
                    raise RuntimeError("the driver was asked to fail")
                d.show(frame(int(cmd.lstrip("r")), calm, reconnecting=cmd.startswith("r")))
            time.sleep(0.02)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        print("interrupted")
        sys.exit(130)
