"""A stored session replays exactly, even when the controller asks for a new pace just before a
breath onset: the breaths are fixed by the beat times alone, never by the simulated person,
who looks a little ahead of the coach within each notification."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from biofeedback import cli_train
from biofeedback.cli_train import TrainPlan, run_plan
from biofeedback.pacer import BreathState
from biofeedback.protocols import Decision
from biofeedback.store import SessionStore

CHANGE_EVERY_S = 7.0  # not a multiple of any breath's period: requests fall anywhere in a breath
PACES_BPM = (7.0, 4.5)  # far apart: each request moves the pace for several breaths (0.5 a breath at most)


class EverySevenSeconds:
    """A controller that asks for the other pace every :data:`CHANGE_EVERY_S` s of the beat clock,
    and says in each decision what the prompt showed at that beat (so a difference in what was
    shown is a difference in the decisions)."""

    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self.stage = "test"
        self.reason = ""
        self.resonance_bpm: float | None = None
        self.baseline_hr_bpm: float | None = None
        self.following: bool | None = None
        self._next_s: float | None = None
        self._pace_bpm = PACES_BPM[0]

    def on_beat(self, t_s: float, rr_ms: float, *, shown: BreathState | None = None) -> float:
        if self._next_s is None:
            self._next_s = t_s + CHANGE_EVERY_S
        elif t_s >= self._next_s:
            self._next_s += CHANGE_EVERY_S
            self._pace_bpm = PACES_BPM[1] if self._pace_bpm == PACES_BPM[0] else PACES_BPM[0]
            assert shown is not None
            self.reason = (f"to {self._pace_bpm:g}: breath {shown.breath_index} at {shown.pace_bpm:g} "
                           f"breaths/min, phase {shown.phase!r}")
            self.decisions.append(Decision(t_s, self._pace_bpm, self.stage, "swap", self.reason))
        return self._pace_bpm

    def on_gap(self, t_s: float) -> None:
        self._next_s = None


@pytest.fixture
def every_seven_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """train and replay build :class:`EverySevenSeconds` instead of the coach."""
    build = cli_train._controller_and_pacer

    def controller_and_pacer(plan: TrainPlan) -> tuple[Any, Any, dict[str, Any]]:
        _, pacer, settings = build(plan)
        return EverySevenSeconds(), pacer, settings

    monkeypatch.setattr(cli_train, "_controller_and_pacer", controller_and_pacer)


def decisions_of(controller: Any) -> list[tuple[object, ...]]:
    return [(d.t_s, d.pace_bpm, d.stage, d.code, d.reason) for d in controller.decisions]


@pytest.mark.usefixtures("every_seven_seconds")
@pytest.mark.parametrize("seed", [3, 8])
def test_a_stored_session_replays_exactly_with_requests_off_the_breath_boundaries(tmp_path: Any, seed: int) -> None:
    live = asyncio.run(run_plan(TrainPlan(source=f"sim:{seed}", seed=seed, minutes=6, ui="none", speed=None,
                                          data_dir=tmp_path, from_recent=False), io.StringIO()))
    assert live.session_id is not None
    with SessionStore(live.store_path) as store:  # type: ignore[arg-type]
        table = store.beat_table(live.session_id)
        recorded = [(e.t_s, e.data["pace_bpm"], e.stage, e.data["code"], e.detail)
                    for e in store.events(live.session_id, "coach")]
        plan = TrainPlan(source=f"stored:{live.session_id}", minutes=6, ui="none", speed=None, store=False,
                         from_recent=False)
        again = asyncio.run(run_plan(plan, io.StringIO(), store=store))
    beats = again.session.beats
    assert len(recorded) == (table.t_s[-1] - table.t_s[0]) // CHANGE_EVERY_S and len(beats) == table.t_s.size > 300
    np.testing.assert_array_equal([b.t_s for b in beats], table.t_s)
    assert np.unique(live.pacer.paces_bpm).size >= 3  # the pace went up and down, a step a breath
    # every beat's pace and phase, as stored, are those the replayed pacer showed at that beat
    np.testing.assert_array_equal([again.pacer.at(b.t_s).pace_bpm for b in beats], table.pace_bpm)
    np.testing.assert_array_equal([again.pacer.at(b.t_s).phase for b in beats], table.phase)
    np.testing.assert_array_equal(again.pacer.onsets_s, live.pacer.onsets_s)
    assert decisions_of(again.controller) == recorded == decisions_of(live.controller)


# ---------------------------------------------------------------------------- replay's options


@pytest.mark.parametrize(("argv", "words"), [
    (["--preset", "box"], "--preset: a stored session is replayed with the settings it was recorded with"),
    (["--preset", "resonance"], "--preset: a stored session"),  # the default given is still given
    (["--target-drop", "3", "--inhale-share", "0.5"], "--target-drop and --inhale-share: a stored session"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_replay_of_a_stored_session_refuses_pattern_options_in_one_line(
        argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    from biofeedback.cli import main
    from biofeedback.paths import data_dir, store_path

    with pytest.raises(SystemExit) as exc:
        main(["replay", "1", "--ui", "none", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and "these options are for an RR file" in err[0], err
    assert not store_path(data_dir()).exists()  # refused before anything was opened


def test_replay_help_says_a_stored_session_keeps_its_settings(capsys: pytest.CaptureFixture[str]) -> None:
    from biofeedback.cli import main

    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "A stored session is replayed with the settings it was recorded with" in text
    assert "--preset, --target-drop and --inhale-share are for an RR file only" in text


# ---------------------------------------------------------------------------- the sample sessions

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "sample_data" / "simulated").glob("sim-*.csv"))


@pytest.mark.skipif(not SAMPLES, reason="the simulated samples are generated into sample_data/simulated")
@pytest.mark.parametrize("name", ["sim-2026-11-08-0734.csv", "sim-2026-11-29-0711.csv"])  # with a link loss; without
def test_an_imported_sample_session_replays_with_its_stored_decisions(name: str, tmp_path: Path) -> None:
    from biofeedback.cli import main

    path = next(p for p in SAMPLES if p.name == name)
    assert main(["import", str(path), "--data-dir", str(tmp_path)]) == 0
    with SessionStore(tmp_path / "sessions.db") as store:
        (stored,) = store.sessions()
        recorded = [(e.t_s, e.data["pace_bpm"], e.stage, e.data["code"], e.detail) for e in store.events(stored.id, "coach")]
        gaps = store.recording(stored.id).gaps
        table = store.beat_table(stored.id)
        plan = TrainPlan(source=f"stored:{stored.id}", minutes=stored.settings["minutes"], ui="none", speed=None,
                         store=False, from_recent=False)
        again = asyncio.run(run_plan(plan, io.StringIO(), store=store))
    assert len(gaps) == (name == "sim-2026-11-08-0734.csv")
    assert decisions_of(again.controller) == recorded and len(recorded) > 10
    np.testing.assert_array_equal([again.pacer.at(b.t_s).pace_bpm for b in again.session.beats], table.pace_bpm)
