"""The simulated person: their heart answers breathing as the cited figures say.

Paces are shown by a constant prompt (pace and phase, what the pacer's ``at`` gives), and
the per-breath swing is measured with the product's own :func:`biofeedback.hrv.rsa_amplitude`
on the inhale onsets, after the first two minutes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from biofeedback.artifacts import find_artifacts
from biofeedback.errors import InvalidInputError
from biofeedback.hrv import rsa_amplitude
from biofeedback.pacer import BreathPattern, Pacer
from biofeedback.physiology import VARIANTS, Person, PersonParams, SimBeat, sample_people

CLEAN = PersonParams(artefact_rate=0.0)


@dataclass(frozen=True)
class Shown:
    pace_bpm: float
    phase: float


def constant(pace_bpm: float) -> Callable[[float], Shown]:
    """A prompt at one pace, inhale onsets at 0, 60/pace, ... s."""
    return lambda t_s: Shown(pace_bpm, (t_s * pace_bpm / 60.0) % 1.0)


def run(person: Person, sees: Callable[[float], Shown] | None, n: int = 1000) -> list[SimBeat]:
    return [person.next_beat(sees) for _ in range(n)]


def arrays(beats: list[SimBeat]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([b.t_s for b in beats]), np.array([b.rr_ms for b in beats])


def measured_swing_bpm(pace_bpm: float, seed: int, params: PersonParams = CLEAN) -> float:
    """Median per-breath peak-to-trough HR of 1000 beats at a constant pace, after 2 min."""
    t, rr = arrays(run(Person(params, seed), constant(pace_bpm)))
    onsets = np.arange(0.0, t[-1], 60.0 / pace_bpm)
    return float(np.median(rsa_amplitude(t, rr, onsets[onsets >= 120.0]).amplitude_bpm))


def locked_bpm(person: Person, pace_bpm: float) -> float:
    """Peak-to-trough amplitude of the HR oscillation locked to the prompt's phase, bpm."""
    t, rr = arrays(run(person, constant(pace_bpm), 900))
    hr = 60000.0 / rr
    hr = hr - np.convolve(hr, np.ones(31) / 31, mode="same")
    phase = (t * pace_bpm / 60.0) % 1.0
    keep = slice(60, -60)
    return float(2.0 * abs(np.mean(hr[keep] * np.exp(-2j * np.pi * phase[keep]))))


@pytest.mark.parametrize("pace_bpm", [4.5, 5.5, 6.5, 9.0, 12.0])
def test_the_measured_swing_follows_the_truth_curve(pace_bpm: float) -> None:
    person = Person(CLEAN, 0)
    got = np.mean([measured_swing_bpm(pace_bpm, seed) for seed in (3, 4)])
    assert got == pytest.approx(person.swing_bpm(pace_bpm), rel=0.2)


def test_the_swing_peaks_at_each_persons_resonance() -> None:
    grid = np.arange(3.0, 10.0, 0.01)
    for person in sample_people(12, seed=2):
        curve = np.array([person.swing_bpm(float(p)) for p in grid])
        assert grid[int(np.argmax(curve))] == pytest.approx(person.resonance_bpm, abs=0.011)
        assert person.swing_bpm(person.resonance_bpm) == pytest.approx(person.params.peak_swing_bpm)
        assert 4.5 <= person.resonance_bpm <= 7.0
    # measured, on a person with resonance 5.5: larger there than 2 breaths/min either side
    at = {pace: np.mean([measured_swing_bpm(pace, seed) for seed in (5, 6)]) for pace in (3.5, 5.5, 7.5)}
    assert at[5.5] > 1.05 * at[3.5] and at[5.5] > 1.3 * at[7.5]


def test_the_curve_is_broad_near_its_peak() -> None:
    """Half a breath/min off resonance keeps most of the swing (Hirsch & Bishop: flat below 6/min)."""
    people = sample_people(40, seed=3)
    kept = [p.swing_bpm(p.resonance_bpm - 0.5) / p.swing_bpm(p.resonance_bpm) for p in people]
    assert min(kept) > 0.85 and np.median(kept) > 0.93


def test_slow_breathing_gives_several_times_the_swing_of_12_to_15() -> None:
    """Lehrer, Vaschillo & Vaschillo 2000: RSA 4-10 times larger at resonance."""
    person = Person(CLEAN, 0)
    assert 4.0 <= person.swing_bpm(5.5) / person.swing_bpm(12.0) <= 10.0
    ratios = [p.swing_bpm(p.resonance_bpm) / p.swing_bpm(13.5) for p in sample_people(40, seed=4)]
    assert 4.0 <= float(np.median(ratios)) <= 10.0
    slow = np.mean([measured_swing_bpm(5.5, seed) for seed in (3, 4)])
    for fast in (12.0, 15.0):
        assert slow > 3.0 * np.mean([measured_swing_bpm(fast, seed) for seed in (3, 4)])


def test_heart_rate_settles_lower_near_resonance_and_over_time() -> None:
    """Same person, same heart noise (seeded), three paces: the closer and the longer, the lower."""
    drops: dict[float, float] = {}
    last_hr: dict[float, float] = {}
    for pace in (5.5, 6.5, 12.0):
        person = Person(CLEAN, 3)
        beats = run(person, constant(pace), 150)  # about 2 minutes
        early = person.hr_drop_pct
        beats += run(person, constant(pace), 850)
        if pace == 5.5:  # at resonance the drop keeps growing over the minutes
            assert person.hr_drop_pct > 1.5 * early
        drops[pace] = person.hr_drop_pct
        t, rr = arrays(beats)
        last_hr[pace] = float(np.mean(60000.0 / rr[t > t[-1] - 180.0]))
    assert drops[5.5] > drops[6.5] > 10 * drops[12.0]
    assert drops[5.5] > 0.6 * CLEAN.max_drop_pct and drops[12.0] < 0.1
    assert last_hr[12.0] - last_hr[5.5] > 0.01 * CLEAN.baseline_hr_bpm


def test_same_seed_same_beats_other_seed_other_beats() -> None:
    a = run(Person(CLEAN, 7), constant(6.0), 300)
    b = run(Person(CLEAN, 7), constant(6.0), 300)
    c = run(Person(CLEAN, 8), constant(6.0), 300)
    assert a == b
    assert [x.rr_ms for x in a] != [x.rr_ms for x in c]
    assert sample_people(3, 1, "noisy")[2].params == sample_people(3, 1, "noisy")[2].params


def test_beat_times_are_the_running_sum_of_the_intervals() -> None:
    beats = run(Person(PersonParams(artefact_rate=0.05), 1), constant(6.0), 500)
    t, rr = arrays(beats)
    assert np.allclose(t - t[0], np.cumsum(rr) / 1000.0 - rr[0] / 1000.0, atol=1e-9)
    assert np.all(rr > 0)


@pytest.mark.parametrize("rate", [0.01, 0.03])
def test_artefacts_have_their_ground_truth(rate: float) -> None:
    beats = run(Person(PersonParams(artefact_rate=rate), 5), constant(6.0), 3000)
    rr = np.array([b.rr_ms for b in beats])
    truth = np.array([b.artefact is not None for b in beats])
    for b in beats:
        if b.artefact is None:
            assert b.rr_ms == b.true_rr_ms
        elif b.artefact == "missed":
            assert b.rr_ms > 1.5 * b.true_rr_ms
        else:
            assert b.rr_ms != b.true_rr_ms
    events = sum(b.artefact == "missed" for b in beats) + sum(b.artefact in ("extra", "ectopic") for b in beats) / 2
    assert events == pytest.approx(rate * 3000, rel=0.4)
    found = find_artifacts(rr)
    labelled = np.flatnonzero(truth)
    recall = np.mean([found[max(0, i - 1):i + 2].any() for i in labelled])
    assert recall >= 0.95
    near = np.convolve(truth, [1, 1, 1], mode="same").astype(bool)
    assert np.count_nonzero(found & ~near) <= 0.002 * len(beats)


def test_a_non_follower_does_not_lock_to_the_prompt() -> None:
    for seed in (0, 1, 2):
        follower = locked_bpm(Person(CLEAN, seed), 6.0)
        loner = Person(dataclasses.replace(CLEAN, follows=False), seed)
        assert follower > 3.0
        assert locked_bpm(loner, 6.0) < 0.2 * follower
        assert loner.mode == "own"
        assert loner.breathing_bpm > 8.0  # their own rate, spontaneous 13/min


def test_a_follower_breathes_at_the_shown_pace() -> None:
    person = Person(dataclasses.replace(CLEAN, lapse_per_min=0.0), 2)
    run(person, constant(5.0), 300)
    assert person.mode == "follow"
    assert person.breathing_bpm == pytest.approx(5.0, abs=0.3)


def test_a_follower_locks_a_fraction_of_a_second_behind_with_lapses() -> None:
    params = dataclasses.replace(CLEAN, follow_lag_s=0.5, lapse_per_min=1.0)
    person = Person(params, 4)
    prompt = constant(6.0)
    lags, modes = [], []
    for _ in range(900):
        beat = person.next_beat(prompt)
        lags.append((prompt(beat.t_s).phase - person.phase + 0.5) % 1.0 - 0.5)
        modes.append(person.mode)
    following = np.array(lags)[np.array(modes) == "follow"][100:]
    assert float(np.median(following)) * 10.0 == pytest.approx(0.5, abs=0.15)  # cycles * 10 s = s behind
    assert 0.02 < modes.count("lapse") / len(modes) < 0.3


def test_below_the_comfort_floor_the_person_breathes_faster() -> None:
    person = Person(dataclasses.replace(CLEAN, comfort_floor_bpm=4.0, lapse_per_min=0.0), 2)
    run(person, constant(3.0), 300)
    assert person.mode == "floor"
    assert person.breathing_bpm == pytest.approx(4.0, abs=0.3)


def test_the_person_sees_the_prompt_only_up_to_the_beat() -> None:
    asked: list[float] = []
    prompt = constant(6.0)

    def sees(t_s: float) -> Shown:
        asked.append(t_s)
        return prompt(t_s)

    person = Person(CLEAN, 0)
    for _ in range(50):
        beat = person.next_beat(sees)
        assert max(asked) <= beat.t_s + 0.25  # one grid step at most
    assert asked == sorted(asked)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_draws_people_with_a_resonance_in_range(variant: str) -> None:
    people = sample_people(6, seed=11, variant=variant)
    assert [4.5 <= p.resonance_bpm <= 7.0 for p in people] == [True] * 6
    beats = run(people[0], constant(6.0), 200)
    assert all(300.0 < b.true_rr_ms < 2000.0 for b in beats)


def test_variants_vary_what_they_say() -> None:
    def median(variant: str, f: Callable[[Person], float]) -> float:
        return float(np.median([f(p) for p in sample_people(20, seed=5, variant=variant)]))

    def width(p: Person) -> float:
        return p.swing_bpm(p.resonance_bpm + 0.75) / p.swing_bpm(p.resonance_bpm)

    assert median("narrow", width) < median("default", width) < median("broad", width)
    assert median("long_delay", lambda p: p.loop_delay_s) > median("short_delay", lambda p: p.loop_delay_s)
    assert median("high_hr", lambda p: p.params.baseline_hr_bpm) > 80 > median("low_hr", lambda p: p.params.baseline_hr_bpm)
    assert median("poor_follower", lambda p: p.params.follow_lag_s) > 0.8
    assert median("clean", lambda p: p.params.artefact_rate) == 0.0
    assert median("default", lambda p: p.params.artefact_rate) == 0.01
    followers = [p.params.follows for p in sample_people(40, seed=5, variant="mixed_followers")]
    assert 4 <= followers.count(False) <= 18


def test_bad_input_is_our_error() -> None:
    with pytest.raises(InvalidInputError, match="unknown variant 'nope'"):
        sample_people(3, 0, "nope")
    with pytest.raises(InvalidInputError, match="n must be a positive number of people"):
        sample_people(0, 0)
    with pytest.raises(InvalidInputError, match="resonance_bpm must be 2-12"):
        PersonParams(resonance_bpm=20.0)
    with pytest.raises(InvalidInputError, match="seed must be a non-negative integer"):
        Person(CLEAN, -1)
    with pytest.raises(InvalidInputError, match="pace_bpm must be a positive number"):
        Person(CLEAN, 0).swing_bpm(0.0)


def test_the_person_follows_the_real_pacer() -> None:
    """Through the path the prompt uses (pacer.at), pace changes included."""
    pacer = Pacer(BreathPattern(7.0))
    person = Person(CLEAN, 3)
    beats = []
    while person.t_s < 900.0:
        beats.append(person.next_beat(pacer.at))
        if person.t_s > 60.0:
            pacer.request(5.5)  # taken up over 3 breaths, 0.5/min at a time
    t, rr = arrays(beats)
    onsets = pacer.onsets_s[pacer.onsets_s >= 180.0]
    assert np.all(pacer.paces_bpm[pacer.onsets_s >= 180.0] == 5.5)
    got = float(np.median(rsa_amplitude(t, rr, onsets).amplitude_bpm))
    assert got == pytest.approx(person.swing_bpm(5.5), rel=0.2)
    assert person.breathing_bpm == pytest.approx(5.5, abs=0.3)
