"""Replaying stored sessions (sources.stored, sources.frames): the replayed recording's
beats equal the stored ones to the bit, with the same gaps and link events."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from biofeedback.beats import MAX_LAG_S, Beat, BeatClock, Measurement
from biofeedback.errors import InvalidInputError, SessionNotFoundError
from biofeedback.hrm import SensorContact
from biofeedback.pieces import Piece
from biofeedback.recording import Recording, RecordingMeta
from biofeedback.session import Session
from biofeedback.sources.base import HeartRateSource
from biofeedback.sources.emulated import EmulatedSource
from biofeedback.sources.frames import FrameDecoder
from biofeedback.sources.replay import ReplaySource
from biofeedback.sources import stored as stored_module
from biofeedback.sources.stored import StoredSessionSource
from biofeedback.store import SessionStore
from biofeedback.store.records import Frame
from biofeedback.store.sink import FRAMES_BEFORE, StoreSink

SAFETY_TIMEOUT_S = 60.0  # a broken source fails the test instead of hanging it
EMU_SPEED = 25.0


def rr_series(n: int, seed: int) -> npt.NDArray[np.float64]:
    """RR intervals with breathing-like swing and noise, ms."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    rr: npt.NDArray[np.float64] = 850.0 + 60.0 * np.sin(2 * np.pi * k / 9.0) + rng.normal(0.0, 15.0, n)
    return rr


def run(coro_factory: Callable[[], Awaitable[Recording]]) -> Recording:
    async def main() -> Recording:
        async with asyncio.timeout(SAFETY_TIMEOUT_S):
            return await coro_factory()

    return asyncio.run(main())


def record(store: SessionStore, source: HeartRateSource, settings: dict[str, object], *,
           finish: bool = True, pieces: tuple[Piece, ...] = ()) -> tuple[Recording, int]:
    """A session from ``source`` through Session into ``store``; its recording and id."""
    sink = StoreSink(store, settings)
    recording = run(lambda: Session(source, sinks=[sink, *pieces]).run())
    assert sink.session_id is not None
    if finish:
        store.finish_session(sink.session_id, {"n": recording.n_beats})
    return recording, sink.session_id


def replay(
    store: SessionStore | Path, session_id: int, speed: float | str | None = None
) -> tuple[Recording, StoredSessionSource]:
    source = StoredSessionSource(store, session_id, speed=speed)
    return run(lambda: Session(source).run()), source


def assert_same(replayed: Recording, stored: Recording) -> None:
    assert replayed.n_beats == stored.n_beats > 0
    assert replayed.t_s.tobytes() == stored.t_s.tobytes()  # to the bit
    assert replayed.rr_ms.tobytes() == stored.rr_ms.tobytes()
    assert replayed.flags.tolist() == stored.flags.tolist()
    assert replayed.gaps == stored.gaps
    assert replayed.link_events == stored.link_events


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, Recording]:
    """One session from the emulated strap with a link drop in the middle, stored live."""
    path = tmp_path_factory.mktemp("emu") / "sessions.db"
    with SessionStore(path) as store:
        source = EmulatedSource(rr_series(70, seed=4), speed=EMU_SPEED, drop_at=[25.5])
        recording, sid = record(store, source, {"speed": EMU_SPEED})
    return path, sid, recording


def test_emulated_session_with_a_link_drop_replays_from_its_frames_to_the_bit(
        emulated: tuple[Path, int, Recording]) -> None:
    path, sid, live = emulated
    with SessionStore(path) as store:
        stored = store.recording(sid)
        frames = store.frames(sid)
        kinds = [e.kind for e in store.events(sid)]
    assert_same(stored, live)  # the store kept the live session
    assert kinds.count("link_lost") == 1 and kinds.count("link_restored") == 1 and kinds.count("gap") == 1
    assert len(stored.gaps) == 1 and stored.gaps[0].reason == "link lost" and stored.gaps[0].duration_s > 0.0
    assert len(frames) > live.n_beats / 2
    for speed in (None, "max", 400.0):
        replayed, source = replay(path, sid, speed)
        assert_same(replayed, stored)
        assert source.decoder.malformed_frames == 0
        assert replayed.meta.source == f"stored:{sid}"
        assert source.info().speed == (EMU_SPEED if speed in (None, "max") else 400.0)


def test_replay_is_stored_again_identically(emulated: tuple[Path, int, Recording], tmp_path: Path) -> None:
    path, sid, live = emulated
    with SessionStore(tmp_path / "again.db") as again:
        replayed, sid2 = record(again, StoredSessionSource(path, sid), {"speed": EMU_SPEED})
        assert_same(replayed, live)
        assert [f.payload for f in again.frames(sid2)] == [f.payload for f in SessionStore(path).frames(sid)]
        assert_same(StoredSessionSource(again, sid2).recording, live)


def test_a_malformed_frame_among_the_stored_ones_is_counted_and_skipped(
        emulated: tuple[Path, int, Recording], tmp_path: Path) -> None:
    path, sid, live = emulated
    with SessionStore(path) as store:
        frames = store.frames(sid)
        events = store.events(sid)
        meta = store.session(sid).meta
    bad_at = len(frames) // 3  # well before the link loss
    with SessionStore(tmp_path / "bad.db") as store:
        copy_id = store.start_session(meta, {"speed": EMU_SPEED})
        for i, (t_s, payload) in enumerate(frames):
            if i == bad_at:
                store.add_frame(copy_id, t_s, b"\x10")  # flags only: no heart-rate byte
            store.add_frame(copy_id, t_s, payload)
        for e in events:
            if e.kind in ("link_lost", "link_restored"):
                where = e.data[FRAMES_BEFORE]
                store.add_event(copy_id, e.t_s, e.kind, e.detail, data={FRAMES_BEFORE: where + (where >= bad_at)})
        store.finish_session(copy_id)
        replayed, source = replay(store, copy_id)
    assert source.decoder.malformed_frames == 1
    assert_same(replayed, live)


def test_a_frame_the_strap_sent_malformed_is_stored_in_arrival_order_and_skipped_again_on_replay(
        tmp_path: Path) -> None:
    source = EmulatedSource(rr_series(40, seed=5), speed=EMU_SPEED, drop_at=[20.5])
    frames = source.strap.frames
    bad_t_s = (frames[10][0] + frames[11][0]) / 2.0  # between two valid frames, before the link drop
    bad = b"\x10"  # flags only: no heart-rate byte
    frames.insert(11, (bad_t_s, bad))
    path = tmp_path / "bad.db"
    with SessionStore(path) as store:
        live, sid = record(store, source, {"speed": EMU_SPEED})
        stored_frames = store.frames(sid)
        events = store.events(sid)
    assert source.ble.malformed_frames == 1
    # every frame that arrived is stored, the malformed one among the others in arrival order
    assert [f.payload for f in stored_frames] == [p for _, p in source.strap.sent]
    assert [f.payload for f in stored_frames].count(bad) == 1
    arrivals = [f.t_arrival_s for f in stored_frames]
    assert arrivals == sorted(arrivals)
    # the link events' places count it, so that they come back where they were
    (lost,) = [e for e in events if e.kind == "link_lost"]
    before = lost.data[FRAMES_BEFORE]
    assert bad in [f.payload for f in stored_frames[:before]]
    replayed, again = replay(path, sid)
    assert again.decoder.malformed_frames == 1
    assert_same(replayed, live)
    with SessionStore(tmp_path / "again.db") as store2:  # a replay stored again keeps it too
        _, sid2 = record(store2, StoredSessionSource(path, sid), {"speed": EMU_SPEED})
        assert store2.frames(sid2) == stored_frames


def test_a_session_still_being_recorded_is_read_in_one_snapshot(
        emulated: tuple[Path, int, Recording], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the source reads the session's frames, events and beats while a live session adds to
    # them: what it plays is one moment of the store, not frames of one and beats of another
    path, sid, _ = emulated
    with SessionStore(path) as store:
        frames = store.frames(sid)
        beats = store.beat_table(sid)
        meta = store.session(sid).meta
    half = len(frames) // 2
    writer = SessionStore(tmp_path / "live.db")
    live_id = writer.start_session(meta, {"speed": EMU_SPEED})
    for t_s, payload in frames[:half]:
        writer.add_frame(live_id, t_s, payload)
    n_beats = 10
    for i in range(n_beats):
        writer.add_beat(live_id, Beat(float(beats.t_s[i]), float(beats.rr_ms[i])), hr_bpm=float(beats.hr_bpm[i]))
    reader = SessionStore(tmp_path / "live.db")
    read_frames = reader.frames

    def frames_then_the_writer_adds(session_id: int) -> list[Frame]:
        got = read_frames(session_id)
        writer.add_frame(live_id, *frames[half])  # the live session goes on between two reads
        writer.add_beat(live_id, Beat(float(beats.t_s[n_beats]), float(beats.rr_ms[n_beats])), hr_bpm=60.0)
        return got

    monkeypatch.setattr(reader, "frames", frames_then_the_writer_adds)
    try:
        source = StoredSessionSource(reader, live_id)
    finally:
        reader.close()
        writer.close()
    assert len(source.frames) == half
    assert source.recording.n_beats == len(source.hr_bpm) == n_beats


def test_a_session_killed_mid_way_replays_what_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"

    class Killer(Piece):
        """Cancels the session's task at the 40th beat, as a kill ends it: nothing is finished."""

        def __init__(self) -> None:
            self.n = 0

        def beat(self, beat: object) -> None:
            self.n += 1
            if self.n == 40:
                asyncio.current_task().cancel()  # type: ignore[union-attr]

    store = SessionStore(path)
    with pytest.raises(asyncio.CancelledError):
        record(store, ReplaySource(rr_series(120, seed=8), speed=None), {"speed": "max"}, pieces=(Killer(),))
    store.close()  # its writer gone without finish_session
    with SessionStore(path) as store:
        (row,) = store.sessions()
        # the 40th beat's notification may carry one more: it was stored before the cancel took
        assert row.status == "interrupted" and 40 <= row.n_beats <= 42
        stored = store.recording(row.id)
        assert not store.frames(row.id)
    replayed, source = replay(path, row.id, speed=1000.0)
    assert_same(replayed, stored)
    assert source.info().speed == 1000.0
    np.testing.assert_array_equal(replayed.rr_ms, rr_series(120, seed=8)[: row.n_beats])


def test_a_replay_source_session_replays_from_its_beats(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        live, sid = record(store, ReplaySource(rr_series(200, seed=2), speed=None), {})
        stored = store.recording(sid)
        assert_same(stored, live)
        for speed in (None, 2000.0):
            replayed, source = replay(store, sid, speed)
            assert_same(replayed, stored)
        assert StoredSessionSource(store, sid).info().speed == 1.0  # recorded without a speed


def chain_with_gaps(max_lag_s: float) -> Recording:
    """Beats from a beat clock fed notifications with a lost stretch, a run with no RR and a link loss."""
    clock = BeatClock(max_lag_s=max_lag_s)
    rr = rr_series(90, seed=11).tolist()
    beats = []
    t_arrival = 1000.123
    for k, x in enumerate(rr):
        t_arrival += x / 1000.0
        if k == 30:
            t_arrival += 7.31  # notifications lost: the chain falls behind
        if k == 55:  # a run of frames with no RR, then the beats resume
            for j in range(1, 9):
                clock.add(Measurement(t_arrival + j, 70, ()))
            t_arrival += 9.77
        if k == 75:
            clock.break_chain("link lost")
            t_arrival += 0.4  # shorter than the time the intervals cover: the gap closes on the last beat
        beats += clock.add(Measurement(t_arrival, 70, (x,), SensorContact.DETECTED))
    meta = RecordingMeta(start_utc=dt.datetime(2026, 11, 3, 7, 30, tzinfo=dt.UTC), source="file:x.csv")
    return Recording.from_beats(beats, meta, clock.gaps, ())


def test_an_imported_session_without_frames_replays_from_its_beats_with_its_gaps(tmp_path: Path) -> None:
    imported = chain_with_gaps(MAX_LAG_S)
    reasons = [g.reason for g in imported.gaps]
    assert reasons == ["chain behind arrival clock", "no RR intervals", "link lost"]
    with SessionStore(tmp_path / "imp.db") as store:
        sid = store.add_recording(imported, hr_bpm=np.full(imported.n_beats, 70.0))
        replayed, source = replay(store, sid)
    assert replayed.t_s.tobytes() == imported.t_s.tobytes()
    assert replayed.rr_ms.tobytes() == imported.rr_ms.tobytes()
    # the link-loss gap has no stored link event (a file has none): it comes back as a run with no RR
    assert [(g.start_s, g.end_s) for g in replayed.gaps] == [(g.start_s, g.end_s) for g in imported.gaps]
    assert [g.reason for g in replayed.gaps] == ["chain behind arrival clock", "no RR intervals", "no RR intervals"]
    assert replayed.link_events == ()


def test_the_emulated_session_imported_without_frames_replays_its_link_events(
        emulated: tuple[Path, int, Recording], tmp_path: Path) -> None:
    path, sid, live = emulated
    with SessionStore(tmp_path / "imp.db") as store:
        copy_id = store.add_recording(live, settings={"speed": EMU_SPEED})
        assert not store.frames(copy_id)
        for speed in (None, 300.0):
            replayed, _ = replay(store, copy_id, speed)
            assert_same(replayed, live)


def test_frame_decoder_decodes_to_the_bit_and_counts_what_it_skips() -> None:
    decoder = FrameDecoder("test")
    frames = [(1.0, bytes([0x10, 61, 0x00, 0x04])), (2.0, b""), (3.0, bytes([0x16, 59, 0x01, 0x04, 0x02, 0x04]))]
    out = list(decoder.measurements(frames))
    assert [(m.t_arrival_s, m.heart_rate_bpm, m.rr_ms, m.contact) for m in out] == [
        (1.0, 61, (1000.0,), SensorContact.NOT_SUPPORTED),
        (3.0, 59, (1025 * 1000 / 1024, 1026 * 1000 / 1024), SensorContact.DETECTED),
    ]
    assert out[1].raw == frames[2][1]
    assert decoder.malformed_frames == 1


def test_unknown_session_and_bad_speed_are_one_line_errors(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "e.db") as store:
        with pytest.raises(SessionNotFoundError, match="no session 7 in") as err:
            StoredSessionSource(store, 7)
        assert "\n" not in str(err.value)
        sid = store.add_recording(Recording.from_rr(rr_series(10, 1), RecordingMeta(
            start_utc=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))))
        for bad in (0.0, -2.0, float("nan"), "fast"):
            with pytest.raises(InvalidInputError, match="speed"):
                StoredSessionSource(store, sid, speed=bad)


def test_a_missing_store_is_not_created_by_looking(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "sessions.db"
    with pytest.raises(SessionNotFoundError, match="no session 3: there is no session store at") as err:
        StoredSessionSource(path, 3)
    assert "\n" not in str(err.value)
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize("error_s", [0.0, 3e-7, -2e-4, 1e-12, -5e-15])
def test_the_beat_closing_a_gap_arrives_when_the_clock_closes_it_exactly_even_from_a_poor_estimate(
        error_s: float) -> None:
    imported = chain_with_gaps(MAX_LAG_S)
    i = int(np.flatnonzero(imported.flags & 1)[0])  # the first beat after the first gap
    clock = BeatClock(max_lag_s=MAX_LAG_S)
    for t_s, rr in zip(imported.t_s[:i].tolist(), imported.rr_ms[:i].tolist(), strict=True):
        clock.add(Measurement(t_s, 70, (rr,)))  # the clock as the replay has it before that beat
    offset_s = 0.0
    rr = float(imported.rr_ms[i])
    after, m, beat = stored_module._closing(clock, Measurement(0.0, 70, (rr,)), imported.gaps[0],
                                            float(imported.t_s[i]), offset_s + error_s, rr)
    assert beat.t_s == imported.t_s[i] and after.gaps[-1] == imported.gaps[0]
    assert len(clock.gaps) == 0  # tried on copies
