"""Key from the notes that sound: pitch salience folded to pitch classes, matched to key profiles.

A plain chromagram counts every overtone as a note. The third harmonic of each note lies a
twelfth (an octave and a fifth) above it, so with harmonic-rich timbres (saws, squares, organs,
distorted guitars) every chord also "plays" its dominant, and a key finder drifts to the key a
fifth up. Key finding here therefore works on *pitch salience*:

1. magnitude spectra are summed into semitones from 55 Hz to 1.5 kHz (the fundamentals of
   nearly every bass, chord and melody note; above that it is mostly overtones);
2. from the lowest semitone up, each one's expected overtones (harmonic ``h`` at ``1/h`` of
   its level, a sawtooth's series, the richest common timbre) are taken off the semitones
   they land on, so what is left of a semitone is its own note;
3. the square root of what is left, folded to pitch classes and normalised per frame, is
   summed over the track and correlated with Albrecht and Shanahan's (2013) corpus key
   profiles; the best of the 24 rotations names the key (Krumhansl-Schmuckler matching).

:func:`chromagram` (plain, log-compressed pitch-class energy) stays the harmony feature that
section finding compares frame to frame.
"""

from __future__ import annotations

import re

import numpy as np

from tunesmith.audio.spectrogram import ANALYSIS_RATE, bin_frequencies, stft_magnitude

CHROMA_FFT = 8192  # 2.7 Hz bins: neighbouring semitones part from about 50 Hz up
CHROMA_HOP = 2048
CHROMA_FRAME_SECONDS = CHROMA_HOP / ANALYSIS_RATE
CHROMA_FMIN_HZ, CHROMA_FMAX_HZ = 55.0, 4200.0
KEY_FMIN_HZ, KEY_FMAX_HZ = 55.0, 1500.0
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Albrecht & Shanahan (2013): how often each scale degree sounds in a corpus of major- and
#: minor-key pieces. Tonic and dominant lead, and the tonic leads the dominant clearly.
MAJOR_PROFILE = np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080,
                          0.008, 0.081])
MINOR_PROFILE = np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022,
                          0.061, 0.052])
#: Overtones a note leaves on higher semitones: (semitones above, expected level).
OVERTONES = tuple((round(12 * np.log2(h)), 1.0 / h) for h in range(2, 9))
UNKNOWN_KEY = "unknown"  # no pitched content (silence, unpitched noise)
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_KEY_PATTERN = re.compile(r"^\s*([A-Ga-g])\s*([#♯b♭]*)\s*([A-Za-z_ ]*?)\s*$")
#: Mode name → (minor family, semitones from the parent major scale's tonic up to this tonic).
MODES = {
    "major": (False, 0), "ionian": (False, 0), "lydian": (False, 5), "mixolydian": (False, 7),
    "minor": (True, 9), "aeolian": (True, 9), "dorian": (True, 2), "phrygian": (True, 4),
    "locrian": (True, 11), "harmonic_minor": (True, 9), "melodic_minor": (True, 9),
}
_MODE_ALIASES = {"": "major", "maj": "major", "min": "minor", "m": "minor"}


def _semitone_weights(n_fft: int, sample_rate: int, fmin: float,
                      fmax: float) -> tuple[np.ndarray, np.ndarray]:
    """(bins, semitones) map from spectrum bins to MIDI notes, and the notes' numbers.

    Each bin counts for the note it is nearest to, weighted by closeness to that note's centre:
    bins between two semitones are mostly window leakage and count for little.
    """
    freqs = bin_frequencies(n_fft, sample_rate)
    usable = np.flatnonzero((freqs >= fmin) & (freqs <= fmax))
    midi = 69.0 + 12.0 * np.log2(freqs[usable] / 440.0)
    nearest = np.round(midi).astype(int)
    notes = np.arange(nearest.min(), nearest.max() + 1)
    weights = np.zeros((freqs.size, notes.size), dtype=np.float32)
    weights[usable, nearest - notes[0]] = np.clip(1.0 - 2.0 * np.abs(midi - nearest), 0.0, 1.0) ** 2
    return weights, notes


def _fold(weights: np.ndarray, notes: np.ndarray) -> np.ndarray:
    """(bins, 12): a semitone map folded to pitch classes."""
    folded = np.zeros((weights.shape[0], 12), dtype=np.float32)
    for column, note in enumerate(notes):
        folded[:, note % 12] += weights[:, column]
    return folded


_WEIGHTS = _fold(*_semitone_weights(CHROMA_FFT, ANALYSIS_RATE, CHROMA_FMIN_HZ, CHROMA_FMAX_HZ))
_KEY_WEIGHTS, _KEY_NOTES = _semitone_weights(CHROMA_FFT, ANALYSIS_RATE, KEY_FMIN_HZ, KEY_FMAX_HZ)


def chroma_spectrum(mono: np.ndarray) -> np.ndarray:
    """The long-window magnitude spectra chroma (and structure) are read from."""
    return stft_magnitude(mono, CHROMA_FFT, CHROMA_HOP)


def _unit_rows(chroma: np.ndarray) -> np.ndarray:
    total = chroma.sum(axis=1, keepdims=True)
    return np.divide(chroma, total, out=np.zeros_like(chroma), where=total > 0)


def chromagram(mag: np.ndarray) -> np.ndarray:
    """Pitch-class energy per frame of :func:`chroma_spectrum`, (frames, 12), rows summing to 1."""
    ref = max(float(mag.max(initial=0.0)), 1e-9)
    # Log compression so a loud bass note does not outvote the whole chord above it.
    return _unit_rows(np.log1p(100.0 * mag / ref) @ _WEIGHTS)


def pitch_salience(mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frames, notes) level of each semitone with lower notes' overtones taken off, and the
    MIDI numbers of the columns."""
    salience = mag @ _KEY_WEIGHTS
    for column in range(salience.shape[1]):
        level = salience[:, column]
        for offset, share in OVERTONES:
            if column + offset < salience.shape[1]:
                above = salience[:, column + offset]
                np.maximum(above - share * level, 0.0, out=above)
    return salience, _KEY_NOTES


def key_chroma(mag: np.ndarray) -> np.ndarray:
    """Pitch classes of the notes (not the overtones) per frame, (frames, 12), rows summing to 1."""
    salience, notes = pitch_salience(mag)
    ref = max(float(salience.max(initial=0.0)), 1e-9)
    # A square root: loud notes count more, but a held bass does not drown the chord above it.
    compressed = np.sqrt(salience / ref)
    chroma = np.zeros((salience.shape[0], 12), dtype=np.float32)
    for column, note in enumerate(notes):
        chroma[:, note % 12] += compressed[:, column]
    return _unit_rows(chroma)


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
    """(key name, confidence 0..1) from a key chroma; confidence is the winning correlation."""
    energy = chroma.sum(axis=0) if chroma.ndim == 2 else chroma
    scores = key_profile_scores(energy)
    if not scores.any():
        return UNKNOWN_KEY, 0.0
    mode, tonic = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return key_name(int(tonic), bool(mode)), float(np.clip(scores[mode, tonic], 0.0, 1.0))


def parse_mode(name: str) -> tuple[int, str]:
    """(tonic pitch class, mode) from 'A minor', 'F#m', 'Bb', 'G dorian', 'C# harmonic minor'."""
    match = _KEY_PATTERN.match(name)
    if not match:
        raise ValueError(f"{name!r} is not a key: write a note and a mode, like 'A minor' or 'Bb'")
    letter, accidentals, written = match.groups()
    tonic = _LETTERS[letter.upper()] + accidentals.count("#") + accidentals.count("♯")
    tonic -= accidentals.count("b") + accidentals.count("♭")
    mode = "major" if written == "M" else written.strip().lower().replace(" ", "_")
    mode = _MODE_ALIASES.get(mode, mode)
    if mode not in MODES:
        raise ValueError(f"{name!r} is not a key: the mode must be one of {', '.join(MODES)}")
    return tonic % 12, mode


def parse_key(name: str) -> tuple[int, bool]:
    """(tonic pitch class, is_minor) from 'A minor', 'F#m', 'eb min', 'C', 'D dorian' (minor)."""
    tonic, mode = parse_mode(name)
    return tonic, MODES[mode][0]


def _same_or_relative(a: tuple[int, bool], b: tuple[int, bool]) -> bool:
    (tonic_a, minor_a), (tonic_b, minor_b) = a, b
    if minor_a == minor_b:
        return tonic_a == tonic_b
    major_tonic, minor_tonic = (tonic_b, tonic_a) if minor_a else (tonic_a, tonic_b)
    return (major_tonic + 9) % 12 == minor_tonic


def key_matches(detected: str, planned: str) -> bool:
    """True when a detected major/minor key fits the planned key (which may be a mode).

    Same or relative keys match (C major and A minor share their notes). A mode matches the
    major or minor key on its tonic with the same third (G dorian ≈ G minor) and the key of
    the major scale it is drawn from (G dorian ≈ F major), each with its relative, because a
    major/minor key finder can only hear one of those.
    """
    if detected == UNKNOWN_KEY:
        return False
    heard = parse_key(detected)
    tonic, mode = parse_mode(planned)
    minor, from_parent = MODES[mode]
    readings = ((tonic, minor), ((tonic - from_parent) % 12, False))
    return any(_same_or_relative(heard, reading) for reading in readings)
