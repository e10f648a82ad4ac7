"""Key from a chromagram: pitch-class energy correlated with major and minor key profiles.

The profiles are Krumhansl and Kessler's probe-tone ratings (1982): how well each pitch class
fits a key, as listeners judged it. The best-correlated of the 24 rotations names the key
(the Krumhansl-Schmuckler method).
"""

from __future__ import annotations

import re

import numpy as np

from tunesmith.audio.spectrogram import ANALYSIS_RATE, bin_frequencies, stft_magnitude

CHROMA_FFT = 8192  # 2.7 Hz bins: neighbouring semitones part from about 50 Hz up
CHROMA_HOP = 2048
CHROMA_FRAME_SECONDS = CHROMA_HOP / ANALYSIS_RATE
CHROMA_FMIN_HZ, CHROMA_FMAX_HZ = 55.0, 4200.0
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
UNKNOWN_KEY = "unknown"  # no pitched content (silence, unpitched noise)
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_KEY_PATTERN = re.compile(
    r"^\s*([A-G])\s*([#♯b♭]*)\s*(major|minor|maj|min|m)?\s*$", re.IGNORECASE
)


def _chroma_weights(n_fft: int, sample_rate: int) -> np.ndarray:
    """(bins, 12) map from spectrum bins to pitch classes, weighted by closeness to a semitone."""
    freqs = bin_frequencies(n_fft, sample_rate)
    weights = np.zeros((freqs.size, 12), dtype=np.float32)
    usable = (freqs >= CHROMA_FMIN_HZ) & (freqs <= CHROMA_FMAX_HZ)
    midi = 69.0 + 12.0 * np.log2(freqs[usable] / 440.0)
    nearest = np.round(midi)
    # Bins between two semitones are mostly window leakage: let them count for little.
    closeness = np.clip(1.0 - 2.0 * np.abs(midi - nearest), 0.0, 1.0) ** 2
    weights[np.flatnonzero(usable), nearest.astype(int) % 12] = closeness
    return weights


_WEIGHTS = _chroma_weights(CHROMA_FFT, ANALYSIS_RATE)


def chroma_spectrum(mono: np.ndarray) -> np.ndarray:
    """The long-window magnitude spectra chroma (and structure) are read from."""
    return stft_magnitude(mono, CHROMA_FFT, CHROMA_HOP)


def chromagram(mag: np.ndarray) -> np.ndarray:
    """Pitch-class energy per frame of :func:`chroma_spectrum`, (frames, 12), rows summing to 1."""
    ref = max(float(mag.max(initial=0.0)), 1e-9)
    # Log compression so a loud bass note does not outvote the whole chord above it.
    chroma = np.log1p(100.0 * mag / ref) @ _WEIGHTS
    total = chroma.sum(axis=1, keepdims=True)
    return np.divide(chroma, total, out=np.zeros_like(chroma), where=total > 0)


def key_profile_scores(pitch_classes: np.ndarray) -> np.ndarray:
    """Pearson correlation with each key: shape (2, 12), row 0 major, row 1 minor, by tonic."""
    scores = np.zeros((2, 12))
    if np.ptp(pitch_classes) == 0:
        return scores
    for mode, profile in enumerate((MAJOR_PROFILE, MINOR_PROFILE)):
        for tonic in range(12):
            scores[mode, tonic] = np.corrcoef(pitch_classes, np.roll(profile, tonic))[0, 1]
    return scores


def key_name(tonic: int, minor: bool) -> str:
    """'A minor', 'Eb major'."""
    return f"{PITCH_NAMES[tonic % 12]} {'minor' if minor else 'major'}"


def estimate_key(chroma: np.ndarray) -> tuple[str, float]:
    """(key name, confidence 0..1) from a chromagram; confidence is the winning correlation."""
    energy = chroma.sum(axis=0) if chroma.ndim == 2 else chroma
    scores = key_profile_scores(energy)
    if not scores.any():
        return UNKNOWN_KEY, 0.0
    mode, tonic = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return key_name(int(tonic), bool(mode)), float(np.clip(scores[mode, tonic], 0.0, 1.0))


def parse_key(name: str) -> tuple[int, bool]:
    """(tonic pitch class, is_minor) from 'A minor', 'F#m', 'Bb major', 'eb min', 'C'."""
    match = _KEY_PATTERN.match(name)
    if not match:
        raise ValueError(f"{name!r} is not a key: write a note and a mode, like 'A minor' or 'Bb'")
    letter, accidentals, mode = match.groups()
    tonic = _LETTERS[letter.upper()] + accidentals.count("#") + accidentals.count("♯")
    tonic -= accidentals.count("b") + accidentals.count("♭")
    return tonic % 12, mode is not None and mode.lower() in ("minor", "min", "m") and mode != "M"


def key_matches(detected: str, planned: str) -> bool:
    """True when the keys are the same or relative (C major and A minor share their notes)."""
    if detected == UNKNOWN_KEY:
        return False
    tonic_a, minor_a = parse_key(detected)
    tonic_b, minor_b = parse_key(planned)
    if minor_a == minor_b:
        return tonic_a == tonic_b
    major_tonic, minor_tonic = (tonic_b, tonic_a) if minor_a else (tonic_a, tonic_b)
    return (major_tonic + 9) % 12 == minor_tonic
