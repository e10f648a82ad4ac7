"""Pitch, scale and chord arithmetic: the small music theory the arranger stands on.

Roman numerals are read against the *major* scale of the tonic, as in most pop and jazz
theory texts: ``i bVI bIII bVII`` is the aeolian loop, ``I bVII IV`` the mixolydian one, so a
progression means the same chords whatever mode the melody uses. Case gives the triad
quality (upper major, lower minor); suffixes add sevenths, extensions and suspensions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

PITCH_CLASSES: dict[str, int] = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6,
    "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11, "Cb": 11,
}
#: Spelling used when a key is picked for the user (flats where musicians write flats).
KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
}
#: Modes whose third is minor share the minor progression tables.
MINOR_FAMILY = frozenset({"minor", "dorian", "phrygian", "locrian", "harmonic_minor"})

_MAJOR = MODES["major"]
_NUMERALS = {"i": 0, "ii": 1, "iii": 2, "iv": 3, "v": 4, "vi": 5, "vii": 6}
_NUMERAL_RE = re.compile(r"^(b|#)?(iii|ii|iv|vii|vi|v|i)(.*)$", re.IGNORECASE)

#: Suffix → (intervals above the root); "{3}" in a key means the triad's third is kept.
_SUFFIXES: dict[str, tuple[int, ...]] = {
    "": (), "7": (10,), "maj7": (11,), "9": (10, 14), "maj9": (11, 14), "6": (9,),
    "69": (9, 14), "add9": (14,), "11": (10, 14, 17), "13": (10, 14, 21), "7b9": (10, 13),
}


@dataclass(frozen=True)
class Chord:
    """A chord as pitch classes: ``root`` and the set of ``tones`` (root first)."""

    symbol: str
    root: int
    tones: tuple[int, ...]

    @property
    def third(self) -> int:
        """The chord's third (or its suspension) as a pitch class."""
        return self.tones[1] if len(self.tones) > 1 else self.root

    @property
    def fifth(self) -> int:
        """The chord's fifth as a pitch class (the perfect fifth when it has none)."""
        for tone in self.tones:
            if (tone - self.root) % 12 in (6, 7, 8):
                return tone
        return (self.root + 7) % 12

    @property
    def seventh(self) -> int | None:
        """The chord's seventh (or sixth) as a pitch class, if it has one."""
        for tone in self.tones[2:]:
            if (tone - self.root) % 12 in (9, 10, 11):
                return tone
        return None


def pitch_class(name: str) -> int:
    """Pitch class of a note name such as ``"F#"`` or ``"Bb"``."""
    return PITCH_CLASSES[name[0].upper() + name[1:]]


def mode_family(mode: str) -> str:
    """``"minor"`` for modes with a minor third, else ``"major"``."""
    return "minor" if mode in MINOR_FAMILY else "major"


def scale_pitch_classes(tonic: int, mode: str) -> tuple[int, ...]:
    """The seven pitch classes of ``mode`` on ``tonic``."""
    return tuple((tonic + step) % 12 for step in MODES.get(mode, _MAJOR))


@lru_cache(maxsize=4096)
def parse_numeral(symbol: str, tonic: int) -> Chord:
    """The chord a roman numeral names in the key of ``tonic`` (e.g. ``"ii7"``, ``"bVII"``)."""
    match = _NUMERAL_RE.match(symbol)
    if match is None:
        raise ValueError(f"not a roman numeral: {symbol!r}")
    accidental, numeral, suffix = match.groups()
    shift = {"b": -1, "#": 1}.get(accidental or "", 0)
    root = (tonic + _MAJOR[_NUMERALS[numeral.lower()]] + shift) % 12
    intervals = _chord_intervals(numeral.isupper(), suffix)
    return Chord(symbol, root, tuple((root + i) % 12 for i in intervals))


def _chord_intervals(upper: bool, suffix: str) -> tuple[int, ...]:
    """Intervals above the root for a numeral's case and suffix."""
    suffix = suffix.replace("°", "dim").replace("ø", "m7b5")
    if suffix.startswith("dim"):
        return (0, 3, 6, 9) if suffix == "dim7" else (0, 3, 6)
    if suffix.startswith("m7b5"):
        return (0, 3, 6, 10)
    if suffix.startswith("+"):
        return (0, 4, 8)
    triad = (0, 4, 7) if upper else (0, 3, 7)
    if "sus4" in suffix or "sus2" in suffix:
        triad = (0, 5, 7) if "sus4" in suffix else (0, 2, 7)
        suffix = suffix.replace("sus4", "").replace("sus2", "")
    return triad + _SUFFIXES.get(suffix, ())


def diatonic_chord(symbol: str, tonic: int, mode: str) -> Chord:
    """Re-read a numeral inside ``mode``: same degree, the mode's own notes stacked in thirds.

    Lets a style's major-key table serve a minor request (and back) without chromatic clashes.
    """
    match = _NUMERAL_RE.match(symbol)
    if match is None:
        raise ValueError(f"not a roman numeral: {symbol!r}")
    degree = _NUMERALS[match.group(2).lower()]
    suffix = match.group(3)
    scale = scale_pitch_classes(tonic, mode)
    count = 4 if any(ch.isdigit() for ch in suffix) else 3
    tones = tuple(scale[(degree + 2 * i) % 7] for i in range(count))
    return Chord(symbol, tones[0], tones)


def chord_scale(chord: Chord, scale: tuple[int, ...]) -> tuple[int, ...]:
    """The key's scale bent to fit ``chord``: chord tones replace scale notes a semitone away."""
    pcs = set(scale)
    for tone in chord.tones:
        if tone not in pcs:
            pcs.discard((tone + 1) % 12)
            pcs.discard((tone - 1) % 12)
            pcs.add(tone)
    return tuple(sorted(pcs))


def pitches_in_range(pcs: tuple[int, ...], low: int, high: int) -> list[int]:
    """Every MIDI pitch in ``[low, high]`` whose pitch class is in ``pcs``."""
    allowed = set(pcs)
    return [p for p in range(low, high + 1) if p % 12 in allowed]


def nearest_pitch(pc: int, target: float, low: int = 0, high: int = 127) -> int:
    """The MIDI pitch of class ``pc`` closest to ``target`` inside ``[low, high]``."""
    base = round(target) - ((round(target) - pc) % 12)
    candidates = [p for p in (base - 12, base, base + 12) if low <= p <= high]
    if not candidates:
        return max(low, min(high, base))
    return min(candidates, key=lambda p: abs(p - target))


def voice_chord(chord: Chord, previous: tuple[int, ...] | None, low: int, high: int,
                size: int = 4) -> tuple[int, ...]:
    """A close voicing of ``chord`` in ``[low, high]`` that moves least from ``previous``."""
    tones = _chord_voices(chord, size)
    best: tuple[int, ...] | None = None
    best_cost = float("inf")
    for candidate in _inversions(tones, low, high, double=size >= 4 and len(tones) == 3):
        cost = _motion(candidate, previous, (low + high) / 2)
        if cost < best_cost:
            best, best_cost = candidate, cost
    return best if best is not None else tuple(sorted(nearest_pitch(t, low + 6) for t in tones))


def _chord_voices(chord: Chord, size: int) -> list[int]:
    """The pitch classes to voice: the fifth goes first when extensions crowd the hand."""
    tones = list(dict.fromkeys(chord.tones))
    if len(tones) > size and chord.fifth in tones[2:]:
        tones.remove(chord.fifth)
    return tones[:size]


def _inversions(tones: list[int], low: int, high: int, double: bool) -> list[tuple[int, ...]]:
    """Close-position voicings of ``tones`` (every inversion, every octave) inside the range;
    ``double`` adds the lowest note's octave on top (four-part writing of a triad)."""
    out: list[tuple[int, ...]] = []
    for rotation in range(len(tones)):
        order = tones[rotation:] + tones[:rotation]
        for octave in range(low // 12 - 1, high // 12 + 1):
            pitches = [order[0] % 12 + 12 * octave]
            for pc in order[1:]:
                pitches.append(pitches[-1] + ((pc - pitches[-1]) % 12 or 12))
            if double:
                pitches.append(pitches[0] + 12)
            if pitches[0] >= low and pitches[-1] <= high:
                out.append(tuple(pitches))
    return out


def _motion(candidate: tuple[int, ...], previous: tuple[int, ...] | None, centre: float) -> float:
    """Voice-leading cost: how far the voices move (voice by voice when the counts match),
    plus a pull towards the middle of the register so the part does not drift away."""
    drift = 0.25 * abs(sum(candidate) / len(candidate) - centre)
    if not previous:
        return 4 * drift
    if len(previous) == len(candidate):
        return sum(abs(p - q) for p, q in zip(candidate, previous, strict=True)) + drift
    return sum(min(abs(p - q) for q in previous) for p in candidate) + drift


def key_name(tonic: int) -> str:
    """Conventional spelling of a tonic pitch class."""
    return KEY_NAMES[tonic % 12]


@lru_cache(maxsize=8192)
def read_grid(pattern: str, offset: int, steps: int) -> tuple[tuple[int, int, str], ...]:
    """The onsets of one bar of a grid pattern: (step, length in steps, symbol).

    ``offset`` is where the bar starts inside the (cycled) pattern; "-" holds the previous
    symbol, "." rests; holds stop at the bar line.
    """
    size = len(pattern)
    cells = [pattern[(offset + i) % size] for i in range(steps)]
    out = []
    for i, symbol in enumerate(cells):
        if symbol in "-.":
            continue
        length = 1
        while i + length < steps and cells[i + length] == "-":
            length += 1
        out.append((i, length, symbol))
    return tuple(out)
