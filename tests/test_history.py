"""History: per-session figures, trends and the figures drawn from a session's own stored data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from _history_data import add_paced, add_unpaced, open_store, paced_beats
from biofeedback.analysis import summarise
from biofeedback.display.history import headline_lines, sessions_table, table_cells
from biofeedback.errors import InvalidInputError
from biofeedback.history import (
    breath_onsets_s,
    headlines,
    pace_changes,
    rolling_mean,
    rolling_spread,
    session_figures,
    session_row,
    trends,
)
from biofeedback.plots import session_figure, trend_figure

T0 = dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)


def _lines(ax_list) -> dict[str, object]:
    return {line.get_gid(): line for ax in ax_list for line in ax.get_lines() if line.get_gid()}


def _true_onsets(t, pace, phase) -> np.ndarray:
    """The builder's breath onsets: where the phase wraps round, back by the phase."""
    first = np.concatenate(([0], np.flatnonzero(np.diff(phase) < 0) + 1))
    return t[first] - phase[first] * 60.0 / pace[first]


def test_breath_onsets_are_the_prompts_breaths() -> None:
    p = paced_beats(1, minutes=6, paces=(6.0, 5.0))
    onsets = breath_onsets_s(p.t_s, p.pace_bpm, p.phase)
    np.testing.assert_allclose(onsets, _true_onsets(p.t_s, p.pace_bpm, p.phase), atol=1e-9)
    periods = np.diff(onsets)
    # each breath lasts 60 / its pace: 10 s at 6 /min, 12 s at 5 /min
    assert set(np.round(periods, 6)) == {10.0, 12.0}
    assert breath_onsets_s([1.0, 2.0], [np.nan, np.nan], [np.nan, np.nan]).size == 0
    with pytest.raises(InvalidInputError, match="one time, pace and phase per beat"):
        breath_onsets_s([1.0], [6.0, 6.0], [0.1, 0.2])


def test_session_figures_from_the_stored_session(tmp_path: Path) -> None:
    p = paced_beats(2, minutes=10, paces=(6.5, 6.0, 5.5))
    with open_store(tmp_path) as store:
        sid = add_paced(store, T0, p, summary={"baseline_hr_bpm": 71.5, "final_hr_bpm": 66.25, "resonance_bpm": 5.5})
        store.set_ratings(sid, pain_before=6, pain_after=3)
        beats = store.beat_table(sid)
        f = session_figures(store.session(sid), store.recording(sid), beats.pace_bpm, beats.phase)
        changes = pace_changes(store.events(sid))
    assert (f.baseline_hr_bpm, f.final_hr_bpm, f.hr_drop_bpm, f.resonance_bpm) == (71.5, 66.25, 5.25, 5.5)
    assert (f.pace_first_bpm, f.pace_last_bpm, f.paced) == (6.5, 5.5, True)
    assert [c.pace_bpm for c in changes] == [6.5, 6.0, 5.5]
    assert f.ratings.pain_before == 6 and f.ratings.pain_change == -3
    # resting lnRMSSD: the first 2 minutes of beats (no artefacts here, so NN = RR)
    first = p.rr_ms[p.t_s <= p.t_s[0] - p.rr_ms[0] / 1000 + 120.0]
    assert f.ln_rmssd == pytest.approx(math.log(np.sqrt(np.mean(np.diff(first) ** 2))), abs=1e-12)
    # swing at resonance: median peak-to-trough HR of the breaths shown at 5.5 /min
    on = _true_onsets(p.t_s, p.pace_bpm, p.phase)
    hr = 60000.0 / p.rr_ms
    swings = []
    for a, b in zip(on[:-1], on[1:], strict=True):
        inside = (p.t_s >= a) & (p.t_s < b)
        pace_at = np.interp(a, p.t_s, p.pace_bpm)
        if b <= p.t_s[-1] and a >= p.t_s[0] and abs(pace_at - 5.5) <= 0.25 and inside.sum() >= 2:
            swings.append(hr[inside].max() - hr[inside].min())
    assert f.swing_at_resonance and f.swing_bpm == pytest.approx(float(np.median(swings)), abs=1e-9)


def test_figures_of_a_session_without_pace_or_stored_summary(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        sid, rec = add_unpaced(store, T0, 3, minutes=6)
        beats = store.beat_table(sid)
        f = session_figures(store.session(sid), store.recording(sid), beats.pace_bpm, beats.phase)
    start = rec.t_s[0] - rec.rr_ms[0] / 1000
    assert f.baseline_hr_bpm == pytest.approx(60000 / np.mean(rec.rr_ms[rec.t_s <= start + 120]), abs=1e-9)
    assert f.final_hr_bpm == pytest.approx(60000 / np.mean(rec.rr_ms[rec.t_s >= rec.t_s[-1] - 120]), abs=1e-9)
    assert not f.paced and not f.swing_at_resonance and f.resonance_bpm is None
    # breathing every 10 s in the made-up tachogram: about 6.0 /min (the beats are ~0.9 s, so a bit faster)
    assert f.breathing_bpm == pytest.approx(60 / (10 * 0.9), rel=0.05)


def test_session_figure_draws_the_stored_beats(tmp_path: Path) -> None:
    p = paced_beats(4, minutes=8, paces=(6.0, 5.5))
    rr = p.rr_ms.copy()
    with open_store(tmp_path) as store:
        sid = add_paced(store, T0, p, summary={"baseline_hr_bpm": 70.0, "final_hr_bpm": 65.0, "resonance_bpm": 5.5})
        beats = store.beat_table(sid)
        rec = store.recording(sid)
        f = session_figures(store.session(sid), rec, beats.pace_bpm, beats.phase)
        changes = pace_changes(store.events(sid))
    s = summarise(rec)
    fig = session_figure(s, figures=f, pace_bpm=beats.pace_bpm, phase=beats.phase, changes=changes)
    lines = _lines(fig.axes)
    np.testing.assert_allclose(lines["hr"].get_ydata(), 60000.0 / rr)  # no artefacts: NN = RR
    np.testing.assert_allclose(lines["hr"].get_xdata(), p.t_s / 60.0)
    np.testing.assert_array_equal(lines["pace"].get_ydata(), p.pace_bpm)
    np.testing.assert_array_equal(lines["rr"].get_ydata(), rr)
    assert lines["artefacts"].get_ydata().size == 0
    on = _true_onsets(p.t_s, p.pace_bpm, p.phase)
    shaded = [patch for ax in fig.axes for patch in ax.patches if patch.get_gid() == "breath"]
    assert len(shaded) == math.ceil((on.size - 1) / 2)  # every other breath
    assert shaded[0].get_x() == pytest.approx(on[0] / 60.0, abs=1e-9)
    assert shaded[0].get_width() == pytest.approx((on[1] - on[0]) / 60.0, abs=1e-9)
    assert shaded[1].get_x() == pytest.approx(on[2] / 60.0, abs=1e-9)
    hr = 60000.0 / rr
    expected = [hr[(p.t_s >= a) & (p.t_s < b)].max() - hr[(p.t_s >= a) & (p.t_s < b)].min()
                for a, b in zip(on[:-1], on[1:], strict=True) if a >= p.t_s[0] and b <= p.t_s[-1]]
    np.testing.assert_allclose(lines["swing"].get_ydata(), expected, atol=1e-9)
    np.testing.assert_allclose(lines["resonance"].get_xdata(), [5.5 / 60] * 2)
    words = next(t for ax in fig.axes for t in ax.texts if t.get_gid() == "words").get_text()
    assert "Your heart rate went from 70 to 65 beats/min." in words
    assert "You breathed at 6 breaths/min at first and 5.5 at the end." in words
    assert [d.get_ydata()[0] for ax in fig.axes for d in ax.get_lines() if d.get_gid() == "decision"] == [6.0, 5.5]
    # regression: the coach's marks were in no title nor legend: a person could not tell what they were
    assert fig.axes[1].get_title(loc="left") == ("Heart rate, with the pace you were shown (blue, ▼ where the coach "
                                                 "changed it) and your breaths shaded")


def test_the_session_figures_words_fit_the_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    import biofeedback.display.history as words

    long = ("Your resonance pace (where your heart rate swung most, 14.1 beats/min per breath): 5.9 breaths/min, "
            "and a little more to say about it.")  # the resonance line ran off the right edge
    monkeypatch.setattr(words, "session_lines", lambda f: ["Your heart rate went from 70 to 65 beats/min.", long])
    p = paced_beats(4, minutes=4, paces=(6.0,))
    with open_store(tmp_path) as store:
        sid = add_paced(store, T0, p)
        rec = store.recording(sid)
    fig = session_figure(summarise(rec))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    text = next(t for ax in fig.axes for t in ax.texts if t.get_gid() == "words")
    assert text.get_window_extent(canvas.get_renderer()).x1 <= fig.bbox.x1


def test_session_figure_marks_artefacts_and_gaps_without_pace(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        sid, rec = add_unpaced(store, T0, 5, minutes=6, gap_at_s=150.0)
        stored = store.recording(sid)
    rr = stored.rr_ms.copy()
    rr[40] *= 2.0  # a missed beat
    t = stored.t_s.copy()
    t[40:] += stored.rr_ms[40] / 1000.0  # ... which shifts every later beat by the interval it hides
    from biofeedback.recording import Recording

    rec2 = Recording(stored.meta, t, rr, stored.flags, stored.gaps)
    fig = session_figure(summarise(rec2))
    lines = _lines(fig.axes)
    np.testing.assert_array_equal(lines["artefacts"].get_xdata(), [t[40] / 60.0])
    np.testing.assert_array_equal(lines["artefacts"].get_ydata(), [rr[40]])
    assert "pace" not in lines and "resonance" not in lines
    gaps = [patch for ax in fig.axes for patch in ax.patches if patch.get_gid() == "gap"]
    (g,) = stored.gaps
    assert len(gaps) == 1
    assert gaps[0].get_x() == pytest.approx(g.start_s / 60)
    assert gaps[0].get_x() + gaps[0].get_width() == pytest.approx(g.end_s / 60)
    assert np.isnan(lines["hr"].get_ydata()).sum() == 1  # the line breaks once, at the gap


def _year_store(tmp_path: Path, n: int = 12):
    store = open_store(tmp_path)
    base = [72.0 - 0.25 * i for i in range(n)]
    for i in range(n):
        p = paced_beats(10 + i, minutes=4, paces=(6.0, 5.5))
        sid = add_paced(store, T0 + dt.timedelta(days=i * 2), p,
                        summary={"baseline_hr_bpm": base[i], "final_hr_bpm": base[i] - 4 - 0.1 * i,
                                 "resonance_bpm": 5.5 if i % 2 else 6.0})
        store.set_ratings(sid, pain_before=7, pain_after=7 - i % 4, tension_before=5)
    return store, base


def test_trends_and_the_trend_figure_are_the_stored_figures(tmp_path: Path) -> None:
    store, base = _year_store(tmp_path)
    with store:
        rows = store.sessions()
        pts = []
        for s in rows:
            beats = store.beat_table(s.id)
            pts.append(session_figures(s, store.recording(s.id), beats.pace_bpm, beats.phase))
    t = trends(pts)
    np.testing.assert_array_equal(t.baseline_hr_bpm, base)  # oldest first, as stored
    np.testing.assert_allclose(t.day, [7.5 / 24 + 2 * i for i in range(12)])  # 07:30 local (UTC+1) every other day
    np.testing.assert_allclose(t.hr_drop_bpm, [4 + 0.1 * i for i in range(12)])
    np.testing.assert_array_equal(t.rolling["baseline_hr_bpm"], rolling_mean(t.day, base))
    np.testing.assert_allclose(t.resonance_spread_bpm[3:], 0.25, atol=1e-6)  # 6.0 / 5.5 alternate: SD 0.25 or less
    fig = trend_figure(t)
    lines = _lines(fig.axes)
    np.testing.assert_array_equal(lines["baseline_hr_bpm"].get_ydata(), base)
    np.testing.assert_array_equal(lines["baseline_hr_bpm-rolling"].get_ydata(), t.rolling["baseline_hr_bpm"])
    np.testing.assert_array_equal(lines["pain_before"].get_ydata(), [7.0] * 12)
    np.testing.assert_array_equal(lines["pain_after"].get_ydata(), [7.0 - i % 4 for i in range(12)])
    np.testing.assert_allclose(lines["pain_after"].get_xdata(), t.day - 0.12)
    np.testing.assert_array_equal(lines["tension_after"].get_ydata(), [np.nan] * 12)
    np.testing.assert_array_equal(lines["resonance_bpm"].get_ydata(), [6.0, 5.5] * 6)
    (strokes,) = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "minutes"]
    segments = strokes.get_segments()
    np.testing.assert_allclose([seg[1][1] for seg in segments], t.minutes)  # from 0 up to the minutes practised
    np.testing.assert_allclose([seg[0][0] for seg in segments], t.day)
    np.testing.assert_allclose(t.minutes, [p.t_s[-1] / 60 for p in [paced_beats(10 + i, minutes=4, paces=(6.0, 5.5))
                                                                   for i in range(12)]])
    # the headline: the last 4 weeks (days 0.31 .. 22.31 all within), the line's change of baseline HR
    heads = {h.figure: h for h in headlines(t)}
    slope = np.polyfit(t.day, base, 1)[0]
    assert heads["baseline_hr_bpm"].change == pytest.approx(slope * (t.day[-1] - t.day[0]), abs=1e-9)
    assert heads["baseline_hr_bpm"].change == pytest.approx(-0.25 / 2 * 22, abs=1e-9)
    assert heads["pain_change"].end == pytest.approx(np.mean([-(i % 4) for i in range(12)]))
    text = next(x for ax in fig.axes for x in ax.texts if x.get_gid() == "headline").get_text()
    assert "Over the last 3 weeks your resting heart rate fell by 3 beats/min (12 sessions)." in text
    assert "After a session your pain was 1.5 points lower than before, on average (12 sessions rated)." in text


def test_headline_needs_enough_sessions_and_looks_back_four_weeks() -> None:
    from biofeedback.history import Headline

    assert headline_lines([Headline("baseline_hr_bpm", 6.0, 5, 70.0, 70.3)]) == [
        "Over the last 6 days your resting heart rate stayed about the same (5 sessions)."]
    assert headline_lines([Headline("baseline_hr_bpm", 40.0, 30, 66.0, 68.6)]) == [
        "Over the last 6 weeks your resting heart rate rose by 3 beats/min (30 sessions)."]
    assert headlines(trends([])) == []


def test_rolling_mean_and_spread_need_enough_sessions_in_the_window() -> None:
    day = [0.0, 1.0, 2.0, 3.0, 20.0, 21.0, 22.0]
    v = [70.0, 68.0, np.nan, 66.0, 60.0, 62.0, 64.0]
    np.testing.assert_array_equal(rolling_mean(day, v, 7.0, 3), [np.nan, np.nan, np.nan, 68.0, np.nan, np.nan, 62.0])
    np.testing.assert_allclose(rolling_spread(day, v, 7.0, 2)[[1, 6]], [1.0, math.sqrt(8 / 3)])
    with pytest.raises(InvalidInputError, match="in order"):
        rolling_mean([2.0, 1.0], [1.0, 2.0])


def test_the_sessions_table_cells_are_the_stored_row(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        sid = add_paced(store, T0, paced_beats(6, minutes=3), summary={
            "baseline_hr_bpm": 72.4, "final_hr_bpm": 66.6, "resonance_bpm": 5.25, "quality": 0.974})
        store.set_ratings(sid, pain_before=7, pain_after=4, tension_after=2)
        row = session_row(store.session(sid))
    assert table_cells(row) == (str(sid), "11-01 07:30", "3.0", "sim:1", "72 → 67", "5.8", "5.2", "97%",
                                "7 → 4", "– → 2")
    almost_none = dataclasses.replace(row, hr_drop_bpm=-0.04)
    assert table_cells(almost_none)[5] == "0.0"  # not "-0.0"


def test_the_sessions_table_gives_the_source_the_room_the_other_columns_leave(tmp_path: Path) -> None:
    # regression: the source was cut to 8 characters, "sim:834…": that seed could not be run again
    import io

    with open_store(tmp_path) as store:
        add_paced(store, T0, paced_beats(6, minutes=3), summary={"baseline_hr_bpm": 72.4, "final_hr_bpm": 66.6})
        row = session_row(store.session(1))
    seed = dataclasses.replace(row, source="sim:4294967295:anxious", session_id=2)
    file = dataclasses.replace(row, source="file:elite-hrv-export-2026-11-01.txt", status="incomplete",
                               session_id=3)

    def table(*rows: object, width: int = 80) -> list[str]:
        out = io.StringIO()
        sessions_table(rows, out, width=width)  # type: ignore[arg-type]
        return out.getvalue().splitlines()

    # the other columns take 2 + 11 + 3 + 10 + 4 + 4 + 7 + 4 + 7 = 52 and 9 spaces: 19 are left
    header, *lines = table(file, seed, row)[:4]
    assert len(header) == 80 and header.index("heart rate") - header.index("source") == 20
    assert [line.split()[4] for line in lines] == ["file:elite-hrv-ex…*", "sim:4294967295:anx…", "sim:1"]
    assert all(len(line) <= 80 for line in table(file, seed, row))
    # a person's seed whole, the column no wider than it needs
    header, line = table(dataclasses.replace(seed, source="sim:4294967295"))[:2]
    assert line.split()[4] == "sim:4294967295" and header.index("heart rate") - header.index("source") == 15
    # with the room for it nothing is cut; table_cells has the whole source
    assert table(file, seed, width=100)[1].split()[4] == "file:elite-hrv-export-2026-11-01.txt*"
    assert table_cells(seed)[3] == "sim:4294967295:anxious"
    assert table_cells(file)[3] == "file:elite-hrv-export-2026-11-01.txt*"
    # however wide the other columns, the source keeps 8 characters
    assert table(file, width=40)[1].split()[4] == "file:e…*"


def test_the_sessions_table_needs_no_metrics() -> None:
    """`sessions` imports neither scipy nor matplotlib (it answers in well under 0.5 s)."""
    import subprocess
    import sys

    from biofeedback import artifacts, history

    assert history.MIN_INTERVALS == artifacts.MIN_INTERVALS
    code = ("import sys, biofeedback.history, biofeedback.display.history, biofeedback.cli_history\n"
            "print([m for m in ('scipy', 'matplotlib') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _figures_at(starts: list[dt.datetime], resonance: list[float]) -> list:
    from biofeedback.history import SessionFigures

    return [SessionFigures(i + 1, s, 10.0, 70.0 + i, 66.0 + i, 4.0, 3.4, 12.0 + i, True, r, True, 6.0, r, r)
            for i, (s, r) in enumerate(zip(starts, resonance, strict=True))]


def _tick_labels(fig, ax) -> list[str]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    lo, hi = ax.get_xlim()
    return [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]


def test_trend_day_axis_of_sessions_on_one_day_reads_as_clock_times() -> None:
    # regression: two sessions minutes apart gave eight ticks all labelled '02 Dec'
    day0 = dt.datetime(2026, 12, 2, 16, 0, 31, tzinfo=dt.UTC)
    t = trends(_figures_at([day0, day0 + dt.timedelta(minutes=6)], [4.9, 5.2]))
    fig = trend_figure(t)
    bottom = fig.axes[-1]
    labels = _tick_labels(fig, bottom)
    assert labels == ["15:15", "15:30", "15:45", "16:00", "16:15", "16:30", "16:45", "17:00"]
    assert bottom.get_xlabel() == "time of day, 02 December 2026"
    assert all(not lab.get_text() for ax in fig.axes[1:-1] for lab in ax.get_xticklabels())  # labels once


def test_trend_day_axis_over_days_has_one_label_a_day() -> None:
    # regression: over 4 days, ticks every half day labelled each date twice
    day0 = dt.datetime(2026, 12, 2, 7, 0, tzinfo=dt.UTC)
    t = trends(_figures_at([day0 + dt.timedelta(days=k) for k in range(5)], [5.0] * 5))
    fig = trend_figure(t)
    labels = _tick_labels(fig, fig.axes[-1])
    assert labels == ["03 Dec", "04 Dec", "05 Dec", "06 Dec"]  # midnights; 02 Dec 00:00 is left of the first
    assert fig.axes[-1].get_xlabel() == "day"


def test_trend_legends_hide_no_session() -> None:
    # regression: the legend in the upper right corner hid the newest session's resonance pace
    day0 = dt.datetime(2026, 12, 2, 16, 0, tzinfo=dt.UTC)
    t = trends(_figures_at([day0, day0 + dt.timedelta(minutes=6)], [4.9, 5.2]))
    fig = trend_figure(t)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    n_legends = 0
    for ax in fig.axes[1:]:
        legend = ax.get_legend()
        if legend is None:
            continue
        n_legends += 1
        box = legend.get_window_extent(renderer)
        for line in ax.get_lines():
            xy = line.get_xydata()
            xy = xy[np.all(np.isfinite(xy), axis=1)]
            if xy.size:
                px = ax.transData.transform(xy)
                inside = (px[:, 0] >= box.x0) & (px[:, 0] <= box.x1) & (px[:, 1] >= box.y0) & (px[:, 1] <= box.y1)
                assert not inside.any(), (line.get_gid(), xy[inside])
    assert n_legends == 3


def test_session_figure_measures_no_swing_over_a_gap() -> None:
    # regression: the figure's swing per breath joined the beats either side of a gap into one
    # breath, which the summary, the trend and the prompt leave out
    from biofeedback.beats import BeatFlags, Gap
    from biofeedback.outcome import breath_swings_bpm
    from biofeedback.recording import Recording, RecordingMeta

    p = paced_beats(4, minutes=5, paces=(6.0,))
    i = int(np.searchsorted(p.t_s, 150.0))
    t = p.t_s.copy()
    t[i:] += 20.0  # the link was lost for 20 s
    flags = np.zeros(t.size, dtype=np.int64)
    flags[i] = int(BeatFlags.AFTER_GAP)
    gap = Gap(start_s=float(t[i - 1]), end_s=float(t[i] - p.rr_ms[i] / 1000.0), reason="link lost")
    rec = Recording(meta=RecordingMeta(start_utc=T0, source="sim:4"), t_s=t, rr_ms=p.rr_ms, flags=flags,
                    gaps=(gap,))
    s = summarise(rec)
    fig = session_figure(s, pace_bpm=p.pace_bpm, phase=p.phase)
    y = _lines(fig.axes)["swing"].get_ydata()
    onsets = breath_onsets_s(t, p.pace_bpm, p.phase)
    _, want = breath_swings_bpm(s.t_s, s.nn_ms, onsets, rec.gaps)
    assert onsets.size - 1 == 30  # 5 min at 6/min, one of them over the gap
    assert want.size == 28  # the breath over the gap left out, and the last, cut by the end
    np.testing.assert_array_equal(np.asarray(y)[np.isfinite(y)], want)


@pytest.mark.parametrize("module", ["biofeedback.history", "biofeedback.display.history", "biofeedback.outcome",
                                    "biofeedback.display.outcome", "biofeedback.live_artifacts"])
def test_docstring_examples_are_true(module: str) -> None:
    # regression: rolling_mean's example said NaN for a day whose window (2, 9] holds two sessions
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, module
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module}"


def test_trend_legends_name_only_what_is_drawn() -> None:
    # regression: with two sessions the legends named a 7-day mean, a spread and "your own
    # breathing" that were nowhere in the figure
    day0 = dt.datetime(2026, 12, 2, 16, 0, tzinfo=dt.UTC)
    t = trends(_figures_at([day0, day0 + dt.timedelta(days=1)], [4.9, 5.2]))
    fig = trend_figure(t)
    legends = [[x.get_text() for x in ax.get_legend().get_texts()] for ax in fig.axes if ax.get_legend()]
    assert legends == [["each session"], ["at the resonance pace"], ["each session"]]
    t = trends(_figures_at([day0 + dt.timedelta(days=k) for k in range(4)], [4.9, 5.2, 5.0, 5.1]))
    legends = [[x.get_text() for x in ax.get_legend().get_texts()] for ax in trend_figure(t).axes if ax.get_legend()]
    assert legends == [["each session", "7-day mean"], ["at the resonance pace", "7-day mean"],
                       ["each session", "7-day mean", "its spread (stability)"]]


def test_ratings_of_sessions_on_one_day_stand_beside_their_session() -> None:
    # regression: pain and tension were drawn 0.12 day (~3 h) either side of the session, off an
    # axis two hours wide
    import dataclasses

    from biofeedback.ratings import Ratings

    day0 = dt.datetime(2026, 12, 2, 16, 0, tzinfo=dt.UTC)
    pts = [dataclasses.replace(p, ratings=Ratings(6, 5, 3, 2))
           for p in _figures_at([day0, day0 + dt.timedelta(minutes=20)], [5.0, 5.2])]
    t = trends(pts)
    fig = trend_figure(t)
    lines = _lines(fig.axes)
    lo, hi = fig.axes[-1].get_xlim()
    assert (lo, hi) == pytest.approx((t.day.mean() - 1 / 24, t.day.mean() + 1 / 24))
    width = hi - lo
    np.testing.assert_allclose(lines["pain_after"].get_xdata(), t.day - 0.012 * width)
    np.testing.assert_allclose(lines["tension_before"].get_xdata(), t.day + 0.012 * width)
