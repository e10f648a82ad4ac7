"""Feel: swing and human timing, applied when beats become seconds.

Swing delays every second subdivision (8ths or 16ths) towards the triplet position; the warp
is continuous, so a note's end moves with its start and nothing overlaps that did not before.
Humanising adds a little seeded timing and velocity drift, never to machine-made styles' drums.
"""

from __future__ import annotations

import random
from typing import NamedTuple


class BeatNote(NamedTuple):
    """A note in beats (quarter notes from the top of the piece), before feel is applied."""

    start: float
    length: float
    pitch: int
    velocity: int


def swing_beat(beat: float, amount: float, unit: int = 8) -> float:
    """Move ``beat`` by swing ``amount`` (0 straight .. 1 triplet) on an 8th or 16th grid."""
    if amount <= 0.0:
        return beat
    pair = 1.0 if unit == 8 else 0.5  # a pair of subdivisions, in beats
    base = (beat // pair) * pair
    frac = (beat - base) / pair
    split = 0.5 + amount / 6.0  # where the off-beat lands inside the pair (2/3 at full swing)
    warped = frac * split / 0.5 if frac <= 0.5 else split + (frac - 0.5) * (1.0 - split) / 0.5
    return base + warped * pair


class Feel:
    """Turns beat times into seconds with swing, timing drift and velocity drift."""

    def __init__(self, bpm: float, swing: float, unit: int, rng: random.Random,
                 timing_ms: float = 0.0, velocity_sd: float = 0.0) -> None:
        self.seconds_per_beat = 60.0 / bpm
        self.swing, self.unit, self.rng = swing, unit, rng
        self.timing_sd = timing_ms / 1000.0
        self.velocity_sd = velocity_sd

    def seconds(self, beat: float) -> float:
        """Swung time of a beat position, in seconds (no drift)."""
        return swing_beat(beat, self.swing, self.unit) * self.seconds_per_beat

    def place(self, note: BeatNote, tight: bool = False) -> tuple[float, float, int]:
        """(start s, length s, velocity) of a note; ``tight`` parts get no timing drift."""
        start = self.seconds(note.start)
        end = self.seconds(note.start + note.length)
        if self.timing_sd > 0.0 and not tight:
            drift = self.rng.gauss(0.0, self.timing_sd)
            start, end = start + drift, end + drift * 0.5
        velocity = note.velocity
        if self.velocity_sd > 0.0:
            velocity = round(velocity + self.rng.gauss(0.0, self.velocity_sd))
        return max(0.0, start), max(0.02, end - max(0.0, start)), max(1, min(127, velocity))
