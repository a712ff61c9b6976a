"""`biofeedback train`, `replay` and `demo` end to end: what the store holds afterwards, beat by
beat and decision by decision, from a file, the simulated person and the emulated strap."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ble_helpers import quantised
from test_cli_strap import bluez_in_thread

from biofeedback.beats import BeatFlags
from biofeedback.cli import main
from biofeedback.emulator import EmulatedStrap, frames_from_rr
from biofeedback.formats import read_rr_file
from biofeedback.notifications import group_into_notifications
from biofeedback.cli_train import TrainPlan, run_plan
from biofeedback.outcome import breath_swings_bpm, session_outcome
from biofeedback.pacer import BreathPattern, Pacer
from biofeedback.paths import store_path
from biofeedback.store import SessionStore

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data" / "polarh10_slow_breathing.txt"
WAIT_S = 60.0  # longest wait for a child process to get somewhere (a deadline, not a speed test)


def data_dir() -> Path:
    return Path(os.environ["BIOFEEDBACK_HOME"])  # set for every test by conftest


def store() -> SessionStore:
    return SessionStore(store_path(data_dir()))


def beats_within(rr_ms: np.ndarray, minutes: float) -> np.ndarray:
    """The intervals of an unbroken file whose beats fall within the first ``minutes``."""
    return rr_ms[np.cumsum(rr_ms) / 1000.0 <= minutes * 60.0]


# ---------------------------------------------------------------------------- from a file, a fixed pace


def test_train_from_a_file_keeps_every_beat_with_the_pace_and_phase_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--source", str(SAMPLE), "--preset", "fixed:5.5", "--inhale-share", "0.45",
                 "--minutes", "4", "--speed", "max", "--ui", "none"]) == 0
    out = capsys.readouterr().out
    rr = beats_within(read_rr_file(SAMPLE), 4)
    with store() as s:
        (stored,) = s.sessions()
        table = s.beat_table(stored.id)
        coach = s.events(stored.id, "coach")
        rec = s.recording(stored.id)
    np.testing.assert_array_equal(table.rr_ms, rr)  # every beat, to the bit
    np.testing.assert_allclose(table.t_s, np.cumsum(rr) / 1000.0, rtol=0, atol=1e-9)
    # the heart rate of each beat's notification (the replay groups the beats as a strap does)
    hr = [round(60000.0 / (sum(f) / len(f))) for _, f in group_into_notifications(rr, 1.0) for _ in f]
    np.testing.assert_array_equal(table.hr_bpm, hr)
    pacer = Pacer(BreathPattern(5.5, inhale_share=0.45))
    np.testing.assert_array_equal(table.pace_bpm, np.full(rr.size, 5.5))
    np.testing.assert_allclose(table.phase, [pacer.at(t).phase for t in table.t_s], rtol=0, atol=1e-12)
    # the one decision of a fixed pace, with its stage, reason and data
    assert [(e.t_s, e.stage, e.detail, e.data) for e in coach] == [
        (rr[0] / 1000.0, "fixed", "a fixed pace of 5.5 breaths/min", {"pace_bpm": 5.5, "code": "fixed"})]
    assert stored.status == "complete"
    assert stored.settings["preset"] == "fixed:5.5" and stored.settings["inhale_share"] == 0.45
    assert stored.settings["source"] == "replay:polarh10_slow_breathing.txt" and stored.settings["speed"] == "max"
    # the summary stored is the outcome of what was stored, and the printed lines say it
    pacer.at(rec.t_s[-1] + 30.0)
    t = np.cumsum(rr) / 1000.0
    baseline = float(np.mean(60000.0 / rr[t - t[0] < 60.0]))  # the fixed pace's: of the first minute of beats
    expected = session_outcome(rec, pacer.onsets_s, n_decisions=1, baseline_hr_bpm=baseline)
    assert stored.summary == pytest.approx(json.loads(json.dumps(expected.summary())))
    assert stored.baseline_hr_bpm == pytest.approx(expected.baseline_hr_bpm)
    assert stored.baseline_hr_bpm == pytest.approx(baseline)
    assert stored.final_hr_bpm == pytest.approx(60000.0 / rr[t >= t[-1] - 60].mean())  # no artefact in the last minute
    assert stored.resonance_bpm is None and stored.quality == pytest.approx(1 - stored.summary["n_artefacts"] / rr.size)
    assert f"Session: 03:59 (mm:ss), {rr.size} beats." in out
    assert f"Kept as session {stored.id} in {store_path(data_dir())}." in out


def test_the_swing_per_breath_shown_is_that_of_the_breaths_the_pacer_showed() -> None:
    plan = TrainPlan(source=str(SAMPLE), preset="fixed:6", minutes=5, speed=None, ui="none", store=False,
                     from_recent=False)
    result = asyncio.run(run_plan(plan, io.StringIO()))
    rec = result.session.recording()
    pacer = Pacer(BreathPattern(6.0))
    pacer.at(rec.t_s[-1])
    ends, swings = breath_swings_bpm(rec.t_s, rec.rr_ms, pacer.onsets_s)
    # the guide kept the last 20 breaths' swings; the file has no artefact, so every beat counted
    assert result.guide.filter.n_rejected == 0
    np.testing.assert_allclose(list(result.guide.swings_bpm), swings[-20:], rtol=1e-12)
    np.testing.assert_allclose(list(result.guide.swings_t_s), ends[-20:], rtol=1e-12)
    frame = result.session.displays[0].frame(rec.t_s[-1])
    assert frame.swing_bpm == pytest.approx(swings[-1])
    assert frame.swing_trend_bpm == pytest.approx(swings[-3:].mean() - swings[-6:-3].mean())
    assert frame.pace_bpm == 6.0 and frame.stage == "fixed" and frame.remaining_s == pytest.approx(300 - rec.t_s[-1])


# ---------------------------------------------------------------------------- mistakes, one line each


@pytest.mark.parametrize(("argv", "words"), [
    (["--source", "ble", "--speed", "10"], "--speed is for sim and files"),
    (["--source", "sim:x"], "the seed after 'sim:' must be a whole number"),
    (["--source", "no-such-file.txt"], "no-such-file.txt: no such file"),
    (["--preset", "fast"], "unknown breathing preset 'fast'"),
    (["--preset", "fixed:0"], "the pace after 'fixed:' must be a number"),
    (["--inhale-share", "1.5"], "must be a share between 0 and 1"),
    (["--target-drop", "200"], "'200' must be a percentage below 100"),  # regression: a 200% drop was run
    (["--target-drop", "100"], "'100' must be a percentage below 100"),
    (["--minutes", "-1"], "'-1' must be greater than 0"),
    (["--ui", "tv"], "invalid choice: 'tv'"),
    (["--eyes-closed", "--ui", "terminal"], "--eyes-closed is --ui sound"),
    (["--rate", "--no-rating"], "not allowed with argument"),
    (["--source", "sim:1", "--device", "AA:BB"], "--device is for a strap (--source ble), not --source sim:1"),
    (["--source", str(SAMPLE), "--device", "H10"], "--device is for a strap (--source ble), not --source "),
], ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_a_wrong_option_is_one_line_and_exit_2(argv: list[str], words: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["train", *argv])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not store_path(data_dir()).exists()  # nothing was started


def test_replay_of_a_session_that_is_not_there_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "42", "--ui", "none"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no session 42" in err[0]


SOUNDLESS = """\
import sys
sys.modules["sounddevice"] = None  # as if the optional extra were not installed
from biofeedback.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("how", [["--sound"], ["--eyes-closed"], ["--ui", "sound"]], ids=" ".join)
def test_sound_without_sounddevice_is_one_line_saying_what_to_install(how: list[str], tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SOUNDLESS, "train", "--source", str(SAMPLE), "--no-rating", *how],
                         capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.splitlines() == ["biofeedback: error: sound needs the sounddevice package: pip install "
                                       "'biofeedback[sound]' (and, on Debian or Ubuntu, apt-get install libportaudio2)"]
    assert not store_path(data_dir()).exists()


# ---------------------------------------------------------------------------- ratings


def test_ratings_before_and_after_are_stored_with_rate(tmp_path: Path) -> None:
    # --rate asks even off a terminal: the keys come from stdin, one character each
    out = subprocess.run([sys.executable, "-m", "biofeedback", "train", "--source", str(SAMPLE), "--preset", "fixed:6",
                          "--minutes", "1", "--speed", "max", "--ui", "none", "--rate"],
                         input="7x4t\n", capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    with store() as s:
        (stored,) = s.sessions()
    # before: 7 and 4 ("x" is no answer); after: 10 ("t"), then Enter skips tension
    assert (stored.pain_before, stored.tension_before, stored.pain_after, stored.tension_after) == (7, 4, 10, None)
    assert "Pain: 7 before, 10 after (3 more)." in out.stdout
    assert "Tension: 4 before, not rated after." in out.stdout


def test_ui_none_asks_nothing_without_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--source", str(SAMPLE), "--preset", "fixed:6", "--minutes", "1", "--speed", "max",
                 "--ui", "none"]) == 0
    assert "How much pain" not in capsys.readouterr().out
    with store() as s:
        (stored,) = s.sessions()
    assert (stored.pain_before, stored.pain_after) == (None, None)


# ---------------------------------------------------------------------------- Ctrl-C, SIGKILL


def child(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "biofeedback", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def wait_for_beats(n: int) -> int:
    """Wait until the store holds at least ``n`` beats of its one session; return how many."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if store_path(data_dir()).exists():
            with store() as s:
                sessions = s.sessions()
                if sessions and sessions[0].n_beats >= n:
                    return sessions[0].n_beats
        time.sleep(0.1)
    raise AssertionError(f"the store never held {n} beats")


def test_ctrl_c_ends_the_session_early_and_keeps_it() -> None:
    proc = child("train", "--source", str(SAMPLE), "--preset", "fixed:6", "--speed", "20", "--ui", "none",
                 "--no-rating")
    wait_for_beats(60)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    with store() as s:
        (stored,) = s.sessions()
        table = s.beat_table(stored.id)
    assert stored.status == "incomplete" and stored.summary["ended_early"] is True
    assert stored.n_beats == table.rr_ms.size >= 60
    np.testing.assert_array_equal(table.rr_ms, read_rr_file(SAMPLE)[:stored.n_beats])
    assert f"{stored.n_beats} beats, ended early (it is kept)." in stdout


def test_sigkill_keeps_everything_up_to_the_last_second_and_the_session_replays(
        capsys: pytest.CaptureFixture[str]) -> None:
    proc = child("train", "--source", str(SAMPLE), "--preset", "fixed:6", "--speed", "20", "--ui", "none",
                 "--no-rating")
    seen = wait_for_beats(100)
    proc.kill()
    proc.communicate(timeout=WAIT_S)
    assert proc.returncode == -signal.SIGKILL
    rr = read_rr_file(SAMPLE)
    with store() as s:  # opening it marks the dead writer's session interrupted
        (stored,) = s.sessions()
        table = s.beat_table(stored.id)
        frames = s.frames(stored.id)
        coach = s.events(stored.id, "coach")
    assert stored.status == "interrupted" and not stored.complete and stored.summary is None
    # every beat committed before the kill is there, in order, to the bit; each beat was
    # committed as it came (no batch at a real-time speed), so at most the one being written is lost
    assert stored.n_beats >= seen
    np.testing.assert_array_equal(table.rr_ms, rr[:stored.n_beats])
    np.testing.assert_array_equal(table.pace_bpm, np.full(stored.n_beats, 6.0))
    assert len(coach) == 1 and coach[0].data == {"pace_bpm": 6.0, "code": "fixed"}
    assert frames == []  # a file has no strap frames; the beats are what is replayed
    assert stored.duration_s == pytest.approx(float(np.sum(rr[:stored.n_beats])) / 1000.0)


# ---------------------------------------------------------------------------- the simulated person and the coach


def decisions_of(controller: object) -> list[tuple[object, ...]]:
    return [(d.t_s, d.pace_bpm, d.stage, d.code, d.reason) for d in controller.decisions]  # type: ignore[attr-defined]


def stored_decisions(s: SessionStore, sid: int) -> list[tuple[object, ...]]:
    return [(e.t_s, e.data["pace_bpm"], e.stage, e.data["code"], e.detail) for e in s.events(sid, "coach")]


def test_train_with_the_simulated_person_stores_every_beat_and_every_decision(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--source", "sim:11", "--ui", "none", "--speed", "1000", "--no-rating"]) == 0
    out = capsys.readouterr().out
    # the same person and coach again, in this process, as fast as possible and stored nowhere
    plan = TrainPlan(source="sim:11", seed=11, minutes=10, ui="none", speed=None, store=False, from_recent=False)
    again = asyncio.run(run_plan(plan, io.StringIO()))
    with store() as s:
        (stored,) = s.sessions()
        table = s.beat_table(stored.id)
        decisions = stored_decisions(s, stored.id)
    beats = again.session.beats
    assert stored.n_beats == len(beats) > 600 and stored.status == "complete"
    np.testing.assert_array_equal(table.rr_ms, [b.rr_ms for b in beats])
    np.testing.assert_array_equal(table.t_s, [b.t_s for b in beats])
    np.testing.assert_array_equal(table.flags, [int(b.flags) for b in beats])
    # the pace and phase shown at each beat: what the pacer the coach steered showed then
    np.testing.assert_array_equal(table.pace_bpm, [again.pacer.at(b.t_s).pace_bpm for b in beats])
    np.testing.assert_array_equal(table.phase, [again.pacer.at(b.t_s).phase for b in beats])
    assert decisions == decisions_of(again.controller) and len(decisions) > 5
    assert {d[2] for d in decisions} >= {"settle", "descend"}
    assert stored.settings["source"] == "sim:11" and stored.settings["preset"] == "resonance"
    assert stored.summary["n_decisions"] == len(decisions)
    assert stored.resonance_bpm == again.controller.resonance_bpm
    assert f"{stored.n_beats} beats." in out


def test_replay_of_a_stored_session_makes_the_same_decisions_beat_for_beat(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--source", "sim:5", "--ui", "none", "--speed", "max", "--minutes", "8",
                 "--no-rating"]) == 0
    capsys.readouterr()
    with store() as s:
        (stored,) = s.sessions()
        recorded = stored_decisions(s, stored.id)
    assert main(["replay", str(stored.id), "--speed", "max", "--ui", "none"]) == 0
    out = capsys.readouterr().out
    assert f"The coach made the same {len(recorded)} decisions as when it was recorded, beat for beat." in out
    with store() as s:
        plan = TrainPlan(source=f"stored:{stored.id}", minutes=8, ui="none", speed=None, store=False, from_recent=False)
        result = asyncio.run(run_plan(plan, io.StringIO(), store=s))
        assert len(s.sessions()) == 1  # a replay is not stored again
        table = s.beat_table(stored.id)
    assert decisions_of(result.controller) == recorded and len(recorded) > 5
    # beat for beat: the pace each replayed beat was shown is the one stored with it
    np.testing.assert_array_equal([result.pacer.at(b.t_s).pace_bpm for b in result.session.beats], table.pace_bpm)


def test_replay_of_a_file_runs_the_coach_over_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(SAMPLE), "--speed", "max", "--ui", "none", "--minutes", "5"]) == 0
    out = capsys.readouterr().out
    rr = beats_within(read_rr_file(SAMPLE), 5)
    assert f"Session: 04:59 (mm:ss), {rr.size} beats." in out
    assert "Kept as session" not in out and not store_path(data_dir()).exists()  # nothing stored


def test_the_coach_starts_from_the_resonance_pace_of_recent_sessions(capsys: pytest.CaptureFixture[str]) -> None:
    from biofeedback.recording import Recording, RecordingMeta

    with store() as s:
        for day, pace in enumerate([5.0, 5.5, 4.5]):
            meta = RecordingMeta(start_utc=dt.datetime(2026, 11, 20 + day, 7, tzinfo=dt.UTC), source="sim:1")
            s.add_recording(Recording.from_rr(np.full(100, 1000.0), meta), summary={"resonance_bpm": pace})
    assert main(["train", "--source", "sim:3", "--ui", "none", "--speed", "max", "--minutes", "3",
                 "--no-rating"]) == 0
    with store() as s:
        latest = s.sessions()[0]
        table = s.beat_table(latest.id)
        decisions = stored_decisions(s, latest.id)
    assert latest.settings["start_pace_bpm"] == 5.0  # the median of 5.0, 5.5 and 4.5
    assert table.pace_bpm[0] == 5.0  # the first breath already at it
    assert decisions[0][1] == 5.0
    # a fixed preset is not moved by the stored resonance
    assert main(["train", "--source", "sim:3", "--ui", "none", "--speed", "max", "--minutes", "1",
                 "--preset", "fixed:6.5", "--no-rating"]) == 0
    with store() as s:
        latest = s.sessions()[0]
        assert latest.settings["start_pace_bpm"] is None
        assert set(s.beat_table(latest.id).pace_bpm.tolist()) == {6.5}


def test_a_sigkilled_session_replays_with_the_decisions_it_had_made() -> None:
    proc = child("train", "--source", "sim:9", "--speed", "40", "--ui", "none", "--no-rating")
    wait_for_beats(150)
    proc.kill()
    proc.communicate(timeout=WAIT_S)
    with store() as s:
        (stored,) = s.sessions()
        recorded = stored_decisions(s, stored.id)
        table = s.beat_table(stored.id)
        plan = TrainPlan(source=f"stored:{stored.id}", minutes=10, ui="none", speed=None, store=False,
                         from_recent=False)
        result = asyncio.run(run_plan(plan, io.StringIO(), store=s))
    assert stored.status == "interrupted" and stored.n_beats >= 150
    # what the person would have given: the same run, uninterrupted, in this process
    whole = asyncio.run(run_plan(TrainPlan(source="sim:9", seed=9, minutes=10, ui="none", speed=None, store=False,
                                           from_recent=False),
                                 io.StringIO()))
    np.testing.assert_array_equal(table.rr_ms, [b.rr_ms for b in whole.session.beats[:stored.n_beats]])
    last_s = float(table.t_s[-1])
    assert recorded == [d for d in decisions_of(whole.controller) if d[0] <= last_s]
    assert decisions_of(result.controller) == recorded  # and the replay of what was kept makes them again


# ---------------------------------------------------------------------------- the strap


def test_train_from_the_emulated_strap_with_a_link_drop_keeps_every_beat_and_the_link_events(
        capsys: pytest.CaptureFixture[str]) -> None:
    from biofeedback.hrm import HeartRateMeasurement

    rr = read_rr_file(SAMPLE)[:200]
    strap = EmulatedStrap(name="Polar H10 7E57AB12", frames=frames_from_rr(rr), speed=20, drop_at=[40.0])
    with bluez_in_thread(strap):
        assert main(["train", "--source", "ble", "--device", "polar", "--minutes", "2.5", "--ui", "none",
                     "--preset", "fixed:6", "--no-rating"]) == 0
    out = capsys.readouterr().out
    sent = quantised(rr)
    with store() as s:
        (stored,) = s.sessions()
        table = s.beat_table(stored.id)
        frames = s.frames(stored.id)
        events = s.events(stored.id)
        rec = s.recording(stored.id)
    assert stored.meta.device_name == "Polar H10 7E57AB12" and stored.settings["source"] == "ble"
    # one gap, where the link dropped; before and after it, unbroken runs of what the strap sent
    (after,) = np.flatnonzero(table.flags & int(BeatFlags.AFTER_GAP))
    np.testing.assert_array_equal(table.rr_ms[:after], sent[:after])
    start = next(i for i in range(after, sent.size) if np.array_equal(sent[i:i + 5], table.rr_ms[after:after + 5]))
    np.testing.assert_array_equal(table.rr_ms[after:], sent[start:start + table.rr_ms.size - after])
    assert start > after  # the beats sent while the link was down never arrived
    # every beat came from a stored frame: decoding the frames again gives them all
    decoded = [r for f in frames for r in HeartRateMeasurement.from_bytes(f.payload).rr_ms]
    np.testing.assert_array_equal(decoded[:table.rr_ms.size], table.rr_ms)
    kinds = [e.kind for e in events if e.kind != "coach"]
    assert kinds == ["link_lost", "link_restored", "gap"]
    (gap,) = rec.gaps
    assert gap.reason == "link lost" and gap.end_s - gap.start_s == pytest.approx(
        (table.t_s[after] - table.t_s[after - 1]) - table.rr_ms[after] / 1000.0)
    assert stored.status == "complete" and stored.summary["n_gaps"] == 1
    assert "1 gap of" in out


# ---------------------------------------------------------------------------- demo


def test_demo_is_a_short_session_with_the_simulated_person_then_its_summary_and_plot(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--speed", "max"]) == 0
    out = capsys.readouterr().out
    with store() as s:
        (stored,) = s.sessions()
    assert stored.settings["source"] == "sim:1" and stored.complete and stored.minutes == pytest.approx(10, abs=0.05)
    (png,) = data_dir().glob("demo-*.png")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_mode & 0o077 == 0
    lines = out.splitlines()
    assert lines[0] == "The demo: 10 minutes with a simulated person (seed 1, no strap), as fast as possible."
    assert f"Kept as session {stored.id} in {store_path(data_dir())}." in lines
    assert lines[-1] == f"Plot written to {png}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["config", "data"])  # nothing where it ran


# ---------------------------------------------------------------------------- the prompt's frame


def test_the_prompt_frame_shows_the_persons_calm_lines_the_battery_and_the_reconnect_notice(tmp_path: Path) -> None:
    from biofeedback.beats import Beat
    from biofeedback.display.calm import CalmLines, store_calm_lines
    from biofeedback.guide import BreathGuide
    from biofeedback.protocols import FixedPace
    from biofeedback.recording import LinkEvent, RecordingMeta
    from biofeedback.training import GuidePiece, LockedPacer, PromptPiece

    own = tmp_path / "mine.txt"
    own.write_text("My back is allowed to rest.\nSlow is good.\n", encoding="utf-8")
    data_dir().mkdir()
    store_calm_lines(own, data_dir())
    pacer = LockedPacer(Pacer(BreathPattern(6.0)))
    controller = FixedPace(6.0)
    guide = GuidePiece(BreathGuide(controller, pacer), pacer, controller)
    battery = [87]
    prompt = PromptPiece(guide, [], duration_s=600.0, calm=CalmLines.for_person(data_dir()),
                         battery=lambda: battery[0], waiting_text="connecting to the strap…")
    waiting = prompt.frame(0.0)
    assert waiting.reconnecting and waiting.reconnect_text == "connecting to the strap…" and waiting.calm_line == ""
    prompt.begin(RecordingMeta(start_utc=dt.datetime(2026, 12, 2, tzinfo=dt.UTC)))
    rr = [1000.0, 950.0, 900.0, 950.0, 1000.0, 1050.0, 1100.0, 1050.0] * 8
    t = 0.0
    for r in rr:
        t += r / 1000.0
        guide.beat(Beat(t_s=t, rr_ms=r))
    f = prompt.frame(t)
    assert not f.reconnecting and f.battery_percent == 87 and f.corrected_share == 0.0
    assert f.heart_rate_bpm == pytest.approx(60000.0 / np.mean(rr[-5:]))
    assert f.calm_line == ["My back is allowed to rest.", "Slow is good."][(pacer.at(t).breath_index // 3) % 2]
    assert f.elapsed_s == t and f.remaining_s == pytest.approx(600.0 - t) and f.stage == "fixed"
    prompt.event(LinkEvent(t_s=t, kind="lost", detail="out of range"))
    assert prompt.frame(t + 1).reconnecting and prompt.frame(t + 1).reconnect_text == "strap reconnecting…"
    prompt.event(LinkEvent(t_s=t, kind="restored", detail="after 2 attempts"))
    battery[0] = 86
    back = prompt.frame(t + 2)
    assert not back.reconnecting and back.battery_percent == 86
    # a frame never fixes a breath of the pacer: asking ahead leaves the pacer as the beats left it
    onsets = pacer.onsets_s
    ahead = prompt.frame(t + 25.0)
    assert ahead.t_s == t + 25.0 and np.array_equal(pacer.onsets_s, onsets)
