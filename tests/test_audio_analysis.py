"""Audio analysis checked against synthetic renders whose tempo, key, level and form are known."""

from __future__ import annotations

import functools
import itertools
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tunesmith.audio.analysis import (
    Analysis,
    analyze,
    analyze_file,
    key_matches,
    summary_lines,
    tempo_matches,
    write_spectrogram_png,
)
from tunesmith.audio.codec import write_mp3
from tunesmith.audio.key import (
    chroma_spectrum,
    estimate_key,
    key_chroma,
    key_profile_scores,
    parse_mode,
)
from tunesmith.audio.loudness import (
    clipped_samples,
    integrated_lufs,
    rms_dbfs,
    sample_peak_dbfs,
    true_peak_dbtp,
)

RATE = 22050
NOTE_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]

# --- instruments: short numpy voices, seeded so every run hears the same thing ------------------


def _noise(seconds: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * RATE)).astype(np.float32)


def _kick() -> np.ndarray:
    t = np.arange(int(0.35 * RATE)) / RATE
    phase = 2 * np.pi * (50 * t + 90 * (1 - np.exp(-t * 30)) / 30)  # pitch falls 140 -> 50 Hz
    return (np.sin(phase) * np.exp(-t * 9)).astype(np.float32)


def _snare() -> np.ndarray:
    t = np.arange(int(0.2 * RATE)) / RATE
    body = np.sin(2 * np.pi * 190 * t) * np.exp(-t * 25)
    return (0.5 * body + 0.4 * _noise(0.2, 1) * np.exp(-t * 18)).astype(np.float32)


def _hat() -> np.ndarray:
    noise = _noise(0.06, 2)
    hiss = np.diff(noise, prepend=0.0)  # a first difference tilts the noise toward the top
    return (0.25 * hiss * np.exp(-np.arange(noise.size) / RATE * 60)).astype(np.float32)


def _ride() -> np.ndarray:
    t = np.arange(int(0.9 * RATE)) / RATE
    partials = sum(np.sin(2 * np.pi * f * t) for f in (3120.0, 4430.0, 5290.0, 6870.0))
    noise = np.diff(_noise(0.9, 3), prepend=0.0)
    return (0.05 * (partials + 0.6 * noise) * np.exp(-t * 5)).astype(np.float32)


def _tone(midi: float, seconds: float, partials: int = 5) -> np.ndarray:
    """A piano-ish additive tone: harmonics falling 1/k, plucked decay."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, partials + 1) if f0 * k < 10000)
    envelope = np.exp(-t * 2.5) * np.minimum(1.0, t / 0.005)
    return (0.2 * wave * envelope).astype(np.float32)


def _place(track: np.ndarray, sound: np.ndarray, seconds: float, gain: float = 1.0) -> None:
    start = round(seconds * RATE)
    if start < track.size:
        end = min(track.size, start + sound.size)
        track[start:end] += gain * sound[: end - start]


# --- grooves: each returns (times in beats, sound, gain) for one bar of 4/4 ----------------------

Hit = tuple[float, np.ndarray, float]


def _four_on_the_floor() -> list[Hit]:
    kicks = [(b, _kick(), 1.0) for b in range(4)]
    hats = [(b + 0.5, _hat(), 1.0) for b in range(4)]
    return kicks + hats + [(1, _snare(), 0.8), (3, _snare(), 0.8)]


def _breakbeat() -> list[Hit]:
    hits = [(0, _kick(), 1.0), (1.5, _kick(), 0.9), (2.75, _kick(), 0.7)]
    hits += [(1, _snare(), 0.9), (3, _snare(), 0.9)]
    return hits + [(b / 2, _hat(), 0.8 if b % 2 else 1.0) for b in range(8)]


def _swung_ride(swing: float = 2 / 3) -> list[Hit]:
    """Jazz ride: ding, ding-a ding, ding-a; the '-a' lands ``swing`` of a beat late."""
    hits = [(b, _ride(), 1.0) for b in range(4)]
    hits += [(1 + swing, _ride(), 0.7), (3 + swing, _ride(), 0.7)]
    return [*hits, (1, _hat(), 0.6), (3, _hat(), 0.6), (0, _kick(), 0.3)]


def _swung_hats(swing: float = 2 / 3) -> list[Hit]:
    hats = [(b + s, _hat(), 1.0 if s == 0 else 0.7) for b in range(4) for s in (0.0, swing)]
    return [*hats, (0, _kick(), 1.0), (2, _kick(), 1.0), (1, _snare(), 0.8), (3, _snare(), 0.8)]


def _sparse_piano() -> list[Hit]:
    """Half-note chords with a quiet note between: the beat has to be inferred."""
    chords = [(0, _chord([48, 55, 64]), 1.0), (2, _chord([53, 57, 60]), 0.9)]
    return [*chords, (3, _tone(67, 1.0), 0.5)]


def _chord(midis: list[int], seconds: float = 1.5) -> np.ndarray:
    return sum(_tone(m, seconds) for m in midis) / len(midis)


def _render_groove(groove: Callable[[], list[Hit]], bpm: float, seconds: float) -> np.ndarray:
    track = np.zeros(int(seconds * RATE), dtype=np.float32)
    beat = 60.0 / bpm
    hits = groove()
    for bar in range(int(seconds / (4 * beat)) + 1):
        for at, sound, gain in hits:
            _place(track, sound, (bar * 4 + at) * beat, gain)
    return track * (0.5 / max(1e-9, float(np.abs(track).max())))


def _stereo(mono: np.ndarray) -> np.ndarray:
    return np.stack([mono, mono])


def _sine(hz: float, seconds: float, amplitude: float, rate: int = RATE,
          phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t + phase)).astype(np.float32)


# --- tempo -----------------------------------------------------------------------------------

GROOVES = {
    "four-on-the-floor": _four_on_the_floor,
    "breakbeat": _breakbeat,
    "swung-ride": _swung_ride,
    "swung-hats": _swung_hats,
    "sparse-piano": _sparse_piano,
}
TEMPI = (70, 90, 120, 128, 140, 174)


@pytest.mark.parametrize("groove", sorted(GROOVES))
@pytest.mark.parametrize("bpm", TEMPI)
def test_tempo_within_two_percent_allowing_half_or_double(groove: str, bpm: int) -> None:
    a = analyze(_render_groove(GROOVES[groove], bpm, 24.0), RATE)
    assert tempo_matches(a.tempo_bpm, bpm), f"{groove} at {bpm} BPM read as {a.tempo_bpm:.2f}"
    assert 0.0 < a.tempo_confidence <= 1.0


@pytest.mark.parametrize("swing", [0.6, 2 / 3, 0.75])
def test_tempo_survives_any_swing_ratio(swing: float) -> None:
    a = analyze(_render_groove(lambda: _swung_hats(swing), 104, 24.0), RATE)
    assert tempo_matches(a.tempo_bpm, 104)


def test_tempo_is_refined_well_below_one_percent_on_a_steady_groove() -> None:
    a = analyze(_render_groove(_breakbeat, 123.4, 30.0), RATE)
    assert abs(a.tempo_bpm - 123.4) < 0.25


def test_tempo_matches_accepts_octaves_and_rejects_near_misses() -> None:
    assert tempo_matches(120.0, 120) and tempo_matches(60.5, 120) and tempo_matches(239.0, 120)
    assert not tempo_matches(123.0, 120)  # 2.5 % off
    assert not tempo_matches(80.0, 120)  # a 2/3 reading needs compound=True
    assert tempo_matches(80.0, 120, compound=True) and tempo_matches(180.0, 120, compound=True)
    assert not tempo_matches(0.0, 120)


def test_noise_and_silence_report_no_confident_pulse() -> None:
    silent = analyze(np.zeros((2, 10 * RATE), dtype=np.float32), RATE)
    assert silent.tempo_bpm == 0.0 and silent.tempo_confidence == 0.0
    noise = analyze(0.1 * _noise(20.0, 7), RATE)
    assert noise.tempo_confidence < 0.3


# --- key -------------------------------------------------------------------------------------


def _triad(root: int, minor: bool) -> list[int]:
    return [root, root + (3 if minor else 4), root + 7]


def _cadence(tonic: int, minor: bool, raised_fifth: bool = False) -> np.ndarray:
    """I-IV-V-I (or i-iv-v-i, i-iv-V-i) four times over: bass note plus a close-voiced triad."""
    chords = [_triad(tonic + step, minor and not (step == 7 and raised_fifth))
              for step in (0, 5, 7, 0)]
    track = np.zeros(int(17 * RATE), dtype=np.float32)
    for i in range(16):
        chord = chords[i % 4]
        notes = [48 + chord[0] % 12] + [57 + (n - 57) % 12 for n in chord]
        _place(track, _chord(notes, 1.2), float(i))
    return track


@pytest.mark.parametrize("tonic", ["C", "G", "Eb", "F#", "A", "Bb"])
def test_major_cadences_name_their_key(tonic: str) -> None:
    a = analyze(_cadence(NOTE_NAMES.index(tonic), minor=False), RATE)
    assert a.key == f"{tonic} major"
    assert a.key_confidence > 0.6


@pytest.mark.parametrize("tonic", ["A", "D", "C#", "F", "B"])
@pytest.mark.parametrize("raised_fifth", [False, True])
def test_minor_cadences_name_their_key(tonic: str, raised_fifth: bool) -> None:
    a = analyze(_cadence(NOTE_NAMES.index(tonic), minor=True, raised_fifth=raised_fifth), RATE)
    assert a.key == f"{tonic} minor"
    assert key_matches(a.key, f"{tonic}m")


def test_key_profiles_prefer_the_tonic_triad() -> None:
    c_major_triad = np.zeros(12)
    c_major_triad[[0, 4, 7]] = 1.0
    scores = key_profile_scores(c_major_triad)
    assert np.argmax(scores[0]) == 0 and scores[0, 0] > scores[1].max()
    assert estimate_key(np.zeros(12)) == ("unknown", 0.0)


@pytest.mark.parametrize(("detected", "planned", "same"), [
    ("A minor", "A minor", True),
    ("A minor", "C major", True),  # relative
    ("C major", "a min", True),
    ("Eb major", "C minor", True),
    ("Bb minor", "A#m", True),  # enharmonic spelling
    ("F# major", "Gb", True),
    ("C major", "C minor", False),  # parallel, not relative
    ("A minor", "E minor", False),
    ("unknown", "C major", False),
])
def test_key_matches(detected: str, planned: str, same: bool) -> None:
    assert key_matches(detected, planned) is same


def test_key_matches_says_what_is_wrong_with_a_bad_name() -> None:
    with pytest.raises(ValueError, match="not a key"):
        key_matches("C major", "H dorian")


@pytest.mark.parametrize(("detected", "planned", "same"), [
    ("G minor", "G dorian", True),  # same tonic, same third
    ("F major", "G dorian", True),  # the parent scale: G dorian has F major's notes
    ("D minor", "G dorian", True),  # ... and its relative
    ("Ab major", "Bb dorian", True),
    ("C major", "G dorian", False),
    ("G major", "G dorian", False),  # parallel major: wrong third
    ("B minor", "B phrygian", True),
    ("G major", "B phrygian", True),
    ("B major", "B phrygian", False),
    ("C major", "C mixolydian", True),
    ("F major", "C mixolydian", True),
    ("G major", "C mixolydian", False),
    ("Bb major", "Bb lydian", True),
    ("F major", "Bb lydian", True),
    ("Eb major", "Bb lydian", False),
    ("A minor", "A harmonic minor", True),
])
def test_key_matches_reads_modes_by_tonic_or_by_their_notes(detected: str, planned: str,
                                                          same: bool) -> None:
    assert key_matches(detected, planned) is same


def test_parse_mode_reads_modes_and_short_names() -> None:
    assert parse_mode("G dorian") == (7, "dorian")
    assert parse_mode("c# Harmonic Minor") == (1, "harmonic_minor")
    assert parse_mode("Bbm") == (10, "minor") and parse_mode("Eb") == (3, "major")
    with pytest.raises(ValueError, match="mode must be one of"):
        parse_mode("C bluesy")


# Harmonic-rich timbres: a sawtooth has every harmonic at 1/k, a square the odd ones. The third
# harmonic of each note sounds a twelfth above it, so a chromagram of the raw spectrum hears
# every chord's fifth as loudly as its root and drifts to the dominant key.

_PROGRESSIONS = {  # (minor key, [(root above the tonic, minor triad)])
    "I-IV-V-I": (False, [(0, False), (5, False), (7, False), (0, False)]),
    "I-V-vi-IV": (False, [(0, False), (7, False), (9, True), (5, False)]),
    "i-iv-V-i": (True, [(0, True), (5, True), (7, False), (0, True)]),
}


@functools.lru_cache(maxsize=256)
def _rich_tone(midi: int, seconds: float, odd_only: bool) -> np.ndarray:
    """A band-limited sawtooth (or square) note with a soft attack and release."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k
               for k in range(1, int(9000.0 / f0) + 1, 2 if odd_only else 1))
    envelope = np.minimum(1.0, t / 0.01) * np.minimum(1.0, (seconds - t) / 0.05)
    return (wave * envelope).astype(np.float32)


def _rich_progression(tonic: int, name: str, odd_only: bool) -> np.ndarray:
    """Root in the bass, a close triad above G3 and the chord's third on top, a chord a second,
    four times round, then the tonic chord held."""
    minor_key, chords = _PROGRESSIONS[name]
    bars = [*chords * 4, (0, minor_key)]
    track = np.zeros(int((len(bars) + 1) * RATE), dtype=np.float32)
    for bar, (step, minor) in enumerate(bars):
        root = (tonic + step) % 12
        triad = [root, root + (3 if minor else 4), root + 7]
        length = 0.95 if bar < len(bars) - 1 else 1.5
        voices = [(36 + root, 0.6), *((55 + (p - 55) % 12, 0.35) for p in triad),
                  (67 + (triad[1] - 67) % 12, 0.3)]
        for midi, gain in voices:
            _place(track, _rich_tone(midi, length, odd_only), float(bar), gain)
    return track / float(np.abs(track).max()) * 0.5


@pytest.mark.parametrize("odd_only", [False, True], ids=["sawtooth", "square"])
@pytest.mark.parametrize("name", list(_PROGRESSIONS))
@pytest.mark.parametrize("tonic", NOTE_NAMES)
def test_harmonic_rich_progressions_name_their_key(tonic: str, name: str,
                                                   odd_only: bool) -> None:
    track = _rich_progression(NOTE_NAMES.index(tonic), name, odd_only)
    key, confidence = estimate_key(key_chroma(chroma_spectrum(track)))
    assert key == f"{tonic} {'minor' if _PROGRESSIONS[name][0] else 'major'}"
    assert confidence > 0.5


def test_a_sawtooth_cadence_is_heard_in_its_key_not_its_dominant() -> None:
    a = analyze(_rich_progression(NOTE_NAMES.index("Bb"), "I-V-vi-IV", odd_only=False), RATE)
    assert a.key == "Bb major" and key_matches(a.key, "Bb major")


# --- loudness and peaks ----------------------------------------------------------------------


def test_stereo_sine_loudness_and_levels() -> None:
    tone = _sine(997.0, 5.0, 0.1, 44100)  # -20 dBFS peak
    stereo = np.stack([tone, tone])
    assert integrated_lufs(stereo, 44100) == pytest.approx(-20.0, abs=0.15)
    assert sample_peak_dbfs(stereo) == pytest.approx(-20.0, abs=0.01)
    assert rms_dbfs(stereo) == pytest.approx(-23.01, abs=0.02)
    assert clipped_samples(stereo) == 0


def test_true_peak_finds_the_peak_between_samples() -> None:
    # A quarter-sample-rate sine sampled 45 degrees off its crest: every sample reads -3 dB.
    tone = _sine(11025.0, 1.0, 1.0, 44100, phase=np.pi / 4)
    assert sample_peak_dbfs(tone) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(tone) == pytest.approx(0.0, abs=0.2)
    quiet = _sine(440.0, 1.0, 0.5, 44100)
    assert true_peak_dbtp(quiet) == pytest.approx(-6.02, abs=0.05)


def test_clipped_samples_are_counted() -> None:
    loud = np.clip(_sine(100.0, 1.0, 2.0), -1.0, 1.0)
    expected = int(np.count_nonzero(np.abs(_sine(100.0, 1.0, 2.0)) >= 0.999))
    assert clipped_samples(loud) == expected > 0
    assert analyze(loud, RATE).clipped_samples == expected


def test_silence_has_no_loudness_and_serialises_as_null() -> None:
    a = analyze(np.zeros((2, 3 * RATE), dtype=np.float32), RATE)
    assert a.integrated_lufs == float("-inf") and a.key == "unknown"
    data = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert data["integrated_lufs"] is None and data["true_peak_dbtp"] is None


# --- spectrum --------------------------------------------------------------------------------


@pytest.mark.parametrize(("hz", "band"), [(40.0, "sub"), (120.0, "low"), (1000.0, "mid"),
                                          (8000.0, "high")])
def test_band_energy_follows_the_tone(hz: float, band: str) -> None:
    a = analyze(_sine(hz, 4.0, 0.3, 44100), 44100)
    assert a.band_energy[band] > 0.95
    assert sum(a.band_energy.values()) == pytest.approx(1.0, abs=0.01)
    assert a.spectral_centroid_hz == pytest.approx(hz, rel=0.05)


# --- sections --------------------------------------------------------------------------------


def _pads(seconds: float, chords: list[list[int]], bpm: float = 120.0) -> np.ndarray:
    track = np.zeros(int(seconds * RATE), dtype=np.float32)
    half_bar = 120.0 / bpm
    for i in range(int(seconds / half_bar) + 1):
        _place(track, _chord(chords[i % len(chords)], half_bar * 1.1), i * half_bar)
    return track


def _section(kind: int, seconds: float) -> np.ndarray:
    """Three textures: club groove in C, swung ride in F/G, quiet breakbeat under low chords."""
    if kind == 0:
        music = _render_groove(_four_on_the_floor, 120, seconds) + 0.5 * _pads(
            seconds, [[60, 64, 67], [57, 60, 64]])
    elif kind == 1:
        music = _render_groove(_swung_ride, 120, seconds) + _pads(
            seconds, [[62, 65, 69], [55, 59, 62], [53, 57, 60]])
    else:
        music = 0.3 * _render_groove(_breakbeat, 120, seconds) + _pads(
            seconds, [[48, 52, 55, 64, 67], [45, 52, 57, 60]])
    return music[: int(seconds * RATE)]


def _song(boundaries: list[float], total: float) -> np.ndarray:
    edges = [0.0, *boundaries, total]
    spans = itertools.pairwise(edges)
    return np.concatenate([_section(i % 3, end - start) for i, (start, end) in enumerate(spans)])


@pytest.mark.parametrize(("boundaries", "total"), [([20.0, 45.0, 70.0], 90.0),
                                                   ([12.5, 33.0], 50.0)])
def test_section_boundaries_within_a_second(boundaries: list[float], total: float) -> None:
    found = analyze(_stereo(_song(boundaries, total)), RATE).section_boundaries
    assert len(found) == len(boundaries), found
    for want, got in zip(boundaries, found, strict=True):
        assert abs(got - want) <= 1.0, found


def test_a_steady_loop_has_no_sections() -> None:
    loop = _render_groove(_four_on_the_floor, 120, 60.0) + 0.5 * _pads(
        60.0, [[60, 64, 67], [57, 60, 64], [53, 57, 60], [55, 59, 62]])
    assert analyze(loop, RATE).section_boundaries == []


# --- files, report, picture, speed -----------------------------------------------------------

REPORT_KEYS = {"duration_seconds", "sample_rate", "channels", "tempo_bpm", "tempo_confidence",
               "key", "key_confidence", "integrated_lufs", "true_peak_dbtp", "sample_peak_dbfs",
               "clipped_samples", "section_boundaries", "spectral_centroid_hz", "band_energy",
               "rms_dbfs"}


def _at_44k(mono: np.ndarray) -> np.ndarray:
    return np.repeat(mono, 2)  # sample-and-hold is crude, but keeps every onset and pitch


@pytest.fixture(scope="module")
def mp3_song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """36 s at 120 BPM: a club groove in C, then a swung ride in F from 18 s."""
    music = _song([18.0], 36.0) * 0.8
    return write_mp3(tmp_path_factory.mktemp("mp3") / "song.mp3", _stereo(_at_44k(music)), 44100)


def test_analyze_file_reads_an_mp3_at_its_real_length(mp3_song: Path) -> None:
    a = analyze_file(mp3_song)
    assert isinstance(a, Analysis)
    assert a.duration_seconds == pytest.approx(36.0, abs=0.002)
    assert (a.sample_rate, a.channels) == (44100, 2)
    assert tempo_matches(a.tempo_bpm, 120)
    assert a.section_boundaries and abs(a.section_boundaries[0] - 18.0) <= 1.0
    assert -30.0 < a.integrated_lufs < -5.0 and a.true_peak_dbtp >= a.sample_peak_dbfs


def test_report_is_json_with_every_field(mp3_song: Path) -> None:
    data = json.loads(json.dumps(analyze_file(mp3_song).to_dict(), allow_nan=False))
    assert set(data) == REPORT_KEYS
    assert set(data["band_energy"]) == {"sub", "low", "mid", "high"}
    assert isinstance(data["key"], str) and isinstance(data["section_boundaries"], list)


def test_summary_lines_name_the_headline_figures(mp3_song: Path) -> None:
    a = analyze_file(mp3_song)
    text = "\n".join(summary_lines(a))
    assert f"{a.tempo_bpm:.1f} BPM" in text and a.key in text
    assert f"{a.integrated_lufs:.1f} LUFS" in text and "dBTP" in text
    assert "0:18" in text  # the section boundary, as m:ss
    silent = summary_lines(analyze(np.zeros(3 * RATE, dtype=np.float32), RATE))
    assert any("silent" in line for line in silent)
    assert any("no steady pulse" in line for line in silent)


def _read_png(path: Path) -> np.ndarray:
    """Decode the plain 8-bit RGB, filter-0 PNG this project writes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour) == (8, 2)
    idat, at = b"", 8
    while at < len(data):
        (size,), kind = struct.unpack(">I", data[at : at + 4]), data[at + 4 : at + 8]
        if kind == b"IDAT":
            idat += data[at + 8 : at + 8 + size]
        at += 12 + size
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width * 3 + 1)
    assert not rows[:, 0].any()  # no row filters
    return rows[:, 1:].reshape(height, width, 3)


def test_spectrogram_png_shows_the_tone_and_marks_the_section(mp3_song: Path,
                                                             tmp_path: Path) -> None:
    image = _read_png(write_spectrogram_png(mp3_song, tmp_path / "song.png"))
    height, width, _ = image.shape
    assert width >= 1000 and height >= 300
    boundary_columns = np.flatnonzero((image == (80, 230, 255)).all(axis=2).sum(axis=0) > 20)
    assert boundary_columns.size == 1
    assert abs(boundary_columns[0] - (52 + 0.5 * 999)) <= 1000 / 36  # 18 s of 36, within 1 s
    assert image[:, :40].max() > 200 and image[-20:].max() > 200  # axis labels drawn

    tone = write_spectrogram_png(_sine(1000.0, 5.0, 0.5), tmp_path / "tone.png", RATE)
    plot = _read_png(tone)[12:332, 52:1052].astype(int).sum(axis=2)
    brightest = int(np.argmax(plot.mean(axis=1)))
    row_hz = np.geomspace(30.0, 11000.0, 320)[::-1]
    assert row_hz[brightest] == pytest.approx(1000.0, rel=0.03)


def test_a_three_minute_stereo_track_is_analysed_in_a_few_seconds() -> None:
    import time

    bar = _render_groove(_four_on_the_floor, 128, 7.5) + 0.5 * _pads(7.5, [[57, 60, 64]], 128)
    track = _stereo(_at_44k(np.tile(bar, 24)))  # 180 s at 44.1 kHz
    started = time.perf_counter()
    a = analyze(track, 44100)
    elapsed = time.perf_counter() - started
    assert a.duration_seconds == pytest.approx(180.0) and tempo_matches(a.tempo_bpm, 128)
    assert elapsed < 6.0, f"{elapsed:.1f} s (target about 3 s on two cores)"
