"""The singing voice: pitch, timing, timbre, silence, determinism, and the vocal effects."""

from __future__ import annotations

import numpy as np
import pytest
import pyworld

from tunesmith.engines.composer.phonemes import place_syllables, syllabify_line
from tunesmith.engines.composer.score import Note
from tunesmith.engines.composer.sound import singer as voice
from tunesmith.engines.composer.sound.singer import (
    double,
    phrase_words,
    sing,
    split_phrases,
    vocal_chain,
)

SR = 44100
BEAT = 0.35


def _phrase(line: str, start: float, pitches: list[int], beats: list[float]) -> list[Note]:
    """Notes for a line: one per beat length, lyrics placed by stress."""
    strengths = [1.0 if i % 2 == 0 else 0.3 for i in range(len(beats))]
    lyrics = place_syllables(syllabify_line(line), strengths)
    notes, t = [], start
    for pitch, beat, lyric in zip(pitches, beats, lyrics, strict=False):
        notes.append(Note(round(t, 4), round(beat * BEAT * 0.97, 4), pitch, lyric=lyric))
        t += beat * BEAT
    return notes


def _melody(low: int = 60) -> list[Note]:
    steps = [0, 2, 4, 5, 7, 5, 4, 2]
    first = _phrase("chasing dreams across the city lights", 0.3,
                    [low + s for s in steps] + [low], [1, 1, 1, 1, 1, 1, 1, 1, 3])
    second = _phrase("we are running through the night", 6.5,
                     [low + 7, low + 5, low + 4, low + 2, low + 4, low + 5, low + 4],
                     [1, 1, 1, 1, 1, 1, 2])
    return first + second


def _pitch_accuracy(audio: np.ndarray, notes: list[Note]) -> tuple[float, int]:
    """Share of voiced frames (dio + stonemask on the output) within 50 cents of the note."""
    x = audio.astype(np.float64)
    f0, times = pyworld.dio(x, SR, f0_floor=70.0, f0_ceil=1000.0, frame_period=5.0)
    f0 = pyworld.stonemask(x, f0, times, SR)
    hits = total = 0
    for f, t in zip(f0, times, strict=False):
        note = next((n for n in notes if n.start <= t < n.start + n.duration), None)
        if f <= 0 or note is None:
            continue
        total += 1
        hits += abs(1200 * np.log2(f / (440.0 * 2 ** ((note.pitch - 69) / 12)))) < 50
    return hits / max(total, 1), total


@pytest.fixture(scope="module")
def melody() -> list[Note]:
    return _melody()


@pytest.fixture(scope="module")
def female(melody: list[Note]) -> np.ndarray:
    return sing(melody, "female", seed=3)


@pytest.fixture(scope="module")
def male(melody: list[Note]) -> np.ndarray:
    return sing([Note(n.start, n.duration, n.pitch - 12, lyric=n.lyric) for n in melody], "male",
                seed=3)


def test_length_covers_the_last_note(female: np.ndarray, melody: list[Note]) -> None:
    end = max(n.start + n.duration for n in melody)
    assert female.dtype == np.float32 and female.ndim == 1
    assert len(female) == int(np.ceil(end * SR))
    assert 0.05 < np.max(np.abs(female)) <= 1.0


@pytest.mark.parametrize("which", ["female", "male"])
def test_pitch_within_50_cents_on_90_percent_of_voiced_frames(
    which: str, female: np.ndarray, male: np.ndarray, melody: list[Note]
) -> None:
    audio, shift = (female, 0) if which == "female" else (male, -12)
    notes = [Note(n.start, n.duration, n.pitch + shift) for n in melody]
    accuracy, frames = _pitch_accuracy(audio, notes)
    assert frames > 400  # most of the sung time is voiced
    assert accuracy >= 0.9, accuracy


def test_male_and_female_differ_in_spectral_centroid(melody: list[Note]) -> None:
    def centroid(audio: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(audio))
        freqs = np.fft.rfftfreq(len(audio), 1 / SR)
        return float((spectrum * freqs).sum() / spectrum.sum())

    same_notes = melody[:9]
    high = centroid(sing(same_notes, "female"))
    low = centroid(sing(same_notes, "male"))
    assert high > 1.1 * low, (high, low)


def test_silence_between_phrases_and_a_breath_before_the_next(female: np.ndarray,
                                                              melody: list[Note]) -> None:
    first_end = max(n.start + n.duration for n in melody if n.start < 6.0)
    second_start = min(n.start for n in melody if n.start >= 6.0)
    gap = female[int((first_end + 0.1) * SR):int((second_start - 0.6) * SR)]
    assert len(gap) > SR and np.max(np.abs(gap)) < 1e-4
    breath = female[int((second_start - 0.45) * SR):int((second_start - 0.15) * SR)]
    assert 1e-3 < np.sqrt(np.mean(breath ** 2)) < 0.05
    quiet = sing(melody, "female", seed=3, breaths=False)
    assert np.max(np.abs(quiet[int((first_end + 0.1) * SR):int((second_start - 0.15) * SR)])) < 1e-4


def test_deterministic_for_a_seed_and_varied_by_seed(melody: list[Note],
                                                      female: np.ndarray) -> None:
    voice._phrase_audio.cache_clear()
    voice.read_phrase.cache_clear()
    again = sing(melody, "female", seed=3)
    assert np.array_equal(again, female)
    other = sing(melody, "female", seed=4)
    assert not np.array_equal(other, female)


def test_choir_is_several_voices_on_the_same_pitch(melody: list[Note], female: np.ndarray) -> None:
    choir = sing(melody, "choir", seed=3)
    assert choir.shape == female.shape and not np.allclose(choir, female)
    accuracy, _ = _pitch_accuracy(choir, melody)
    assert accuracy >= 0.8, accuracy


def test_other_sample_rates_and_empty_input() -> None:
    notes = [Note(0.0, 0.5, 67, lyric="hel-"), Note(0.5, 1.0, 72, lyric="lo")]
    assert sing(notes, sample_rate=22050).shape == (33075,)
    assert sing(notes, sample_rate=48000).shape == (72000,)
    assert sing([]).shape == (0,)
    with pytest.raises(ValueError, match="unknown voice"):
        sing(notes, voice="robot")


def test_phrases_words_and_melismas() -> None:
    notes = [Note(0.0, 0.3, 60, lyric="chas-"), Note(0.3, 0.3, 62, lyric="ing"),
             Note(0.6, 0.3, 64, lyric="dreams"), Note(0.9, 0.3, 65, lyric=""),
             Note(2.0, 0.3, 60, lyric="to-"), Note(2.4, 0.3, 62, lyric="night")]
    phrases = split_phrases(notes)
    assert [len(p) for p in phrases] == [4, 2]
    words = phrase_words(phrases[0])
    assert [w for w, _ in words] == ["chasing", "dreams"]
    assert [len(group) for group in words[1][1]] == [2]  # "dreams" held over two notes
    assert [w for w, _ in phrase_words(phrases[1])] == ["tonight"]
    held = sing(notes[:4])
    assert np.sqrt(np.mean(held[int(0.95 * SR):int(1.15 * SR)] ** 2)) > 0.01  # melisma sounds


def test_notes_sharing_a_syllable_or_words_sharing_a_note() -> None:
    few = [Note(0.0, 0.6, 64, lyric="in the"), Note(0.6, 0.6, 67, lyric="night")]
    many = [Note(0.0, 0.4, 64, lyric="oh"), Note(0.4, 0.4, 66), Note(0.8, 0.4, 67, lyric=None)]
    for notes in (few, many):
        audio = sing(notes)
        assert np.isfinite(audio).all() and np.max(np.abs(audio)) > 0.05


def test_vocal_chain_and_double(female: np.ndarray) -> None:
    chained = vocal_chain(female, SR)
    assert chained.shape == female.shape and np.isfinite(chained).all()
    assert not np.allclose(chained, female)
    doubled = double(female, SR, seed=1)
    assert doubled.shape == female.shape and doubled.dtype == np.float32
    # the double trails the lead by about 22 ms: compare loudness envelopes at 1 ms steps
    def envelope(x: np.ndarray) -> np.ndarray:
        frames = np.abs(x[: len(x) // 44 * 44]).reshape(-1, 44)
        return frames.mean(axis=1)

    lead, copy = envelope(female[: 4 * SR]), envelope(doubled[: 4 * SR])
    lags = list(range(0, 40))
    corr = [float(np.dot(lead[: len(lead) - lag], copy[lag:])) for lag in lags]
    assert 15 <= lags[int(np.argmax(corr))] <= 30
