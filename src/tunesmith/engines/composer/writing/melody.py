"""Melody: motifs, phrases and the pitch writer a vocal line can reuse.

A motif is a one-bar rhythm plus a contour (moves in scale steps). A four-bar phrase states
it, repeats it from where the line has got to (a sequence), varies it, and closes on a long
note: a "question" phrase ends open (third or fifth), an "answer" phrase on the chord root.
:func:`make_melody` turns any rhythm into pitches that follow the harmony (chord tones on
strong beats, scale steps between), so a lyric setter can pass one slot per syllable.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .feel import BeatNote
from .harmony import Harmony
from .styles import load_data
from .theory import chord_scale, pitches_in_range, scale_pitch_classes

#: Contour moves in scale steps, weighted towards stepwise motion.
_MOVES = (-1, -1, -1, 1, 1, 1, -2, 2, 2, 0, -3, 3, 4, -4)


@dataclass(frozen=True)
class Slot:
    """A place for one note: ``start``, ``length`` (beats), ``strong`` if metrically stressed."""

    start: float
    length: float
    strong: bool = False


@dataclass(frozen=True)
class Motif:
    """A one-bar rhythm (offset, length in beats) and its contour (scale-step moves)."""

    rhythm: tuple[tuple[float, float], ...]
    moves: tuple[int, ...]


def make_motif(rng: random.Random, bar_beats: float, busy: float, compound: bool) -> Motif:
    """A fresh motif: rhythm cells filling one bar, a contour that balances its leaps."""
    rhythm = _motif_rhythm(rng, bar_beats, busy, compound)
    moves: list[int] = []
    for _ in rhythm:
        move = rng.choice(_MOVES)
        if moves and abs(moves[-1]) >= 3:
            move = -1 if moves[-1] > 0 else 1  # recover from a leap by a step the other way
        moves.append(move)
    return Motif(tuple(rhythm), tuple(moves))


def _motif_rhythm(rng: random.Random, bar_beats: float, busy: float,
                  compound: bool) -> list[tuple[float, float]]:
    cells = load_data("grooves")["melody_cells"]
    level = "compound" if compound else "sparse" if busy < 0.35 else \
        "medium" if busy < 0.65 else "busy"
    steps_left, pattern = round(bar_beats * 4), ""
    while steps_left > 0:
        fitting = [c for c in cells[level] if len(c) <= steps_left]
        fitting = fitting or ["x" + "-" * (steps_left - 1)]
        cell = rng.choice(fitting)
        pattern += cell
        steps_left -= len(cell)
    if pattern[0] != "x":
        pattern = "x" + pattern[1:]  # a motif starts on its downbeat, so repeats are heard
    return _onsets(pattern)


@lru_cache(maxsize=1024)
def _onsets_cached(pattern: str) -> tuple[tuple[float, float], ...]:
    out = []
    for i, char in enumerate(pattern):
        if char != "x":
            continue
        length = 1
        while i + length < len(pattern) and pattern[i + length] == "-":
            length += 1
        out.append((i * 0.25, length * 0.25))
    return tuple(out)


def _onsets(pattern: str) -> list[tuple[float, float]]:
    """Grid string → (offset, length) in beats."""
    return list(_onsets_cached(pattern))


def phrase_slots(motif: Motif, start: float, bars: int, bar_beats: float,
                 rng: random.Random) -> tuple[list[Slot], list[int]]:
    """Slots and moves for ``bars`` bars of phrase: A, A (sequence), A' (varied), cadence."""
    slots: list[Slot] = []
    moves: list[int] = []
    for bar in range(bars):
        at = start + bar * bar_beats
        position = bar % 4
        rhythm, contour = list(motif.rhythm), list(motif.moves)
        if position == 2:
            rhythm, contour = _vary(rhythm, contour, rng)
        if position == 3 or bar == bars - 1:
            rhythm, contour = _cadence_bar(rhythm, contour, bar_beats)
        for (offset, length), move in zip(rhythm, contour, strict=False):
            slots.append(Slot(at + offset, length, _strong(offset, length, bar_beats)))
            moves.append(move)
    return slots, moves


def _strong(offset: float, length: float, bar_beats: float) -> bool:
    """Downbeats, mid-bar beats (in 4/4) and long notes carry chord tones."""
    return offset == 0.0 or (bar_beats == 4.0 and offset == 2.0) or length >= 1.5


def _vary(rhythm: list[tuple[float, float]], contour: list[int],
          rng: random.Random) -> tuple[list[tuple[float, float]], list[int]]:
    """A variation: split the longest note, or turn the contour upside down."""
    if rng.random() < 0.5:
        longest = max(range(len(rhythm)), key=lambda i: rhythm[i][1])
        offset, length = rhythm[longest]
        if length >= 1.0:
            half = length / 2
            split = [(offset, half), (offset + half, half)]
            rhythm = [*rhythm[:longest], *split, *rhythm[longest + 1:]]
            contour = [*contour[:longest + 1], rng.choice((1, -1)), *contour[longest + 1:]]
            return rhythm, contour
    return rhythm, [-m for m in contour]


def _cadence_bar(rhythm: list[tuple[float, float]], contour: list[int],
                 bar_beats: float) -> tuple[list[tuple[float, float]], list[int]]:
    """Keep the first half of the motif and hold a long note to the end of the bar."""
    keep = [(at, span) for at, span in rhythm if at < bar_beats / 2] or [(0.0, bar_beats)]
    last_offset = keep[-1][0]
    keep[-1] = (last_offset, bar_beats - last_offset)
    return keep, contour[:len(keep)]


def make_melody(harmony: Harmony, slots: Sequence[Slot], rng: random.Random,
                pitch_range: tuple[int, int], tonic: int, mode: str,
                moves: Sequence[int] | None = None, cadences: Mapping[int, bool] | None = None,
                velocity: int = 96, climax: int | None = None) -> list[BeatNote]:
    """Pitches for ``slots`` that follow ``harmony``: chord tones on strong slots, steps between.

    ``moves`` is the contour in scale steps (random steps when None). ``cadences`` maps a slot
    index to True (close: land on the chord root) or False (open: third or fifth). The slot
    at index ``climax`` takes the highest chord tone in range: the peak of the line.
    """
    low, high = pitch_range
    scale = scale_pitch_classes(tonic, mode)
    notes: list[BeatNote] = []
    pitch = -1
    for i, slot in enumerate(slots):
        chord = harmony.at(slot.start).chord
        ladder = _ladder(chord_scale(chord, scale), low, high)
        move = moves[i % len(moves)] if moves else rng.choice(_MOVES)
        pitch = _next_pitch(ladder, pitch, move, (low + high) / 2)
        if cadences and i in cadences:
            pitch = _resolve(chord.tones, pitch, low, high, cadences[i])
        elif i == climax:
            pitch = max(_chord_pitches(chord.tones, low, high), default=pitch)
        elif slot.strong:
            pitch = _snap(chord.tones, pitch, low, high)
        accent = 8 if slot.strong else 0
        notes.append(BeatNote(slot.start, slot.length, pitch, min(127, velocity + accent)))
    return notes


@lru_cache(maxsize=2048)
def _ladder(pcs: tuple[int, ...], low: int, high: int) -> tuple[int, ...]:
    return tuple(pitches_in_range(pcs, low, high))


def _next_pitch(ladder: tuple[int, ...], previous: int, move: int, centre: float) -> int:
    """Move ``move`` scale steps from ``previous`` along ``ladder``, bouncing off its ends."""
    if previous < 0:
        return min(ladder, key=lambda p: abs(p - centre))
    index = min(range(len(ladder)), key=lambda i: abs(ladder[i] - previous))
    target = index + move
    if target < 0 or target >= len(ladder):
        target = index - move
    return ladder[max(0, min(len(ladder) - 1, target))]


def _chord_pitches(tones: tuple[int, ...], low: int, high: int) -> list[int]:
    return [p for p in range(low, high + 1) if p % 12 in tones[:4]]


def _snap(tones: tuple[int, ...], pitch: int, low: int, high: int) -> int:
    """The nearest chord tone to ``pitch`` (upwards on ties, for lift)."""
    options = _chord_pitches(tones, low, high)
    return min(options, key=lambda p: (abs(p - pitch), -p)) if options else pitch


def _resolve(tones: tuple[int, ...], pitch: int, low: int, high: int, final: bool) -> int:
    """A closing note: the root for an answer, the third or fifth for a question."""
    wanted = (tones[0],) if final else tuple(tones[1:3]) or (tones[0],)
    options = [p for p in range(low, high + 1) if p % 12 in wanted]
    return min(options, key=lambda p: abs(p - pitch)) if options else pitch


# ------------------------------------------------------------------------ sung lines ---
def metric_strength(beat: float, bar_beats: float) -> float:
    """Metric weight of a position: 1 downbeat, .75 mid-bar (4/4), .5 beat, .25 eighth, .1."""
    at = beat % bar_beats
    if at < 1e-6 or bar_beats - at < 1e-6:
        return 1.0
    if bar_beats == 4.0 and abs(at - 2.0) < 1e-6:
        return 0.75
    if abs(at - round(at)) < 1e-6:
        return 0.5
    return 0.25 if abs(2 * at - round(2 * at)) < 1e-6 else 0.1


def line_grid(syllables: int, start: float, end: float, bar_beats: float,
              rng: random.Random, spread: tuple[float, float],
              hold: float) -> tuple[list[float], float]:
    """Where a sung line may put its syllables: grid positions from ``start`` for all but the
    last syllable (eighths, sixteenths when crowded), and the beat where the last one lands
    and holds until ``end``. Positions are relative to the bar grid.

    >>> line_grid(5, 0.0, 6.0, 4.0, random.Random(1), (0.5, 0.5), 1.0)
    ([0.0, 0.5, 1.0, 1.5], 2.0)
    """
    latest = max(start, end - hold)
    if (latest - start) * 4 < syllables - 1:  # crowded: a shorter hold leaves more room
        latest = max(start, end - hold / 2)
    target = start + (syllables - 1) * rng.uniform(*spread)
    beats = [float(b) for b in range(math.ceil(target - 1e-6), math.floor(latest + 1e-6) + 1)]
    if syllables <= 1:
        last = start
    elif beats:
        last = beats[0]
    else:  # crowded: as late as the hold allows, on the sixteenth grid
        last = max(start + 0.25, math.floor(latest * 4 + 1e-6) / 4)
    step = 0.5 if (last - start) / 0.5 >= syllables - 1 else 0.25
    positions = [start + i * step for i in range(max(0, round((last - start) / step)))]
    return positions, last
