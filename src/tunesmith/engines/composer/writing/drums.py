"""Drum parts: the style's grid patterns per energy tier, with fills, crashes, rolls and builds.

Patterns and fills are data (``data/grooves.toml``); this module lays them on the bar grid.
Every note's pitch is a General MIDI percussion key from :data:`score.GM_DRUMS`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..score import GM_DRUMS
from .feel import BeatNote
from .styles import load_data
from .theory import read_grid

_VELOCITY = {"X": 118, "x": 96, "o": 52, "r": 84}
FILL_STEPS = 8  # fills take the last two beats of a section


@dataclass(frozen=True)
class DrumSection:
    """What the drummer plays in one section."""

    pattern: str  # name in grooves.toml [drums], "" for silence
    fill: str  # name in [fills], "" for none
    start: float  # beats
    bars: int
    bar_beats: float
    energy: float
    crash: bool = False
    half_time: bool = False
    build: bool = False


def pattern_lines(name: str) -> dict[str, str]:
    """The instrument → grid lines of a drum pattern ({} when unknown or silent)."""
    return dict(load_data("grooves")["drums"].get(name, {})) if name else {}


def tier(energy: float) -> str:
    """The pattern tier a section's energy calls for."""
    return "light" if energy < 0.45 else "mid" if energy < 0.75 else "full"


def drum_section(section: DrumSection, rng: random.Random) -> list[BeatNote]:
    """All drum hits of one section."""
    notes = _build_roll(section) if section.build else _grooves(section, rng)
    if section.crash:
        notes.append(BeatNote(section.start, 1.0, GM_DRUMS["crash"], 112))
    return notes


def _grooves(section: DrumSection, rng: random.Random) -> list[BeatNote]:
    lines = pattern_lines(section.pattern)
    steps = round(section.bar_beats * 4)
    scale = 0.78 + 0.28 * section.energy
    fill = load_data("grooves")["fills"].get(section.fill, {}) if section.fill else {}
    notes: list[BeatNote] = []
    for bar in range(section.bars):
        bar_start = section.start + bar * section.bar_beats
        fill_here = bool(fill) and bar == section.bars - 1 and steps >= FILL_STEPS
        for name, line in lines.items():
            for step, _, symbol in _bar_hits(line, bar, steps, section.half_time):
                if fill_here and step >= steps - FILL_STEPS:
                    continue
                notes += _hit(name, symbol, bar_start + step * 0.25, scale, rng)
        if fill_here:
            notes += _fill(fill, bar_start + (steps - FILL_STEPS) * 0.25, scale, rng)
    return notes


def _bar_hits(line: str, bar: int, steps: int, half_time: bool) -> tuple[tuple[int, int, str], ...]:
    """One bar of a line; half time plays each pattern step over two grid steps."""
    if not half_time:
        return read_grid(line, bar * steps % len(line), steps)
    stretched = "".join(ch + "." for ch in line)
    return read_grid(stretched, bar * steps % len(stretched), steps)


def _hit(name: str, symbol: str, beat: float, scale: float,
         rng: random.Random) -> list[BeatNote]:
    key = GM_DRUMS[name]
    velocity = int(min(127, _VELOCITY.get(symbol, 90) * scale))
    if symbol != "r":
        return [BeatNote(beat, 0.25, key, velocity)]
    hits = rng.choice((2, 3, 4))  # a trap-style roll: 32nds, triplets or 64ths in one 16th
    return [BeatNote(beat + i * 0.25 / hits, 0.25 / hits, key, velocity - 6 * (i % 2))
            for i in range(hits)]


def _fill(fill: dict[str, str], start: float, scale: float,
          rng: random.Random) -> list[BeatNote]:
    notes: list[BeatNote] = []
    for name, line in fill.items():
        for step, _, symbol in read_grid(line, 0, len(line)):
            crescendo = 0.85 + 0.2 * step / len(line)
            notes += _hit(name, symbol, start + step * 0.25, scale * crescendo, rng)
    return notes


def _build_roll(section: DrumSection) -> list[BeatNote]:
    """A build: kick on the beat, a snare roll doubling its rate and rising in level."""
    notes: list[BeatNote] = []
    total = section.bars * section.bar_beats
    beat = 0.0
    while beat < total - 1e-9:
        notes.append(BeatNote(section.start + beat, 0.25, GM_DRUMS["kick"], 100))
        beat += 1.0
    position = 0.0
    while position < total - 1e-9:
        progress = position / total
        rate = 1.0 if progress < 0.5 else 0.5 if progress < 0.75 else 0.25 if \
            progress < 0.875 else 0.125
        velocity = int(60 + 60 * progress)
        notes.append(BeatNote(section.start + position, rate, GM_DRUMS["snare"], velocity))
        position += rate
    return notes


def final_hit(beat: float) -> list[BeatNote]:
    """The last downbeat of the piece: kick and crash left to ring."""
    return [BeatNote(beat, 0.5, GM_DRUMS["kick"], 110), BeatNote(beat, 2.0, GM_DRUMS["crash"], 115)]


def kick_steps(pattern: str) -> str:
    """The kick line of a pattern (for an 808 that follows the kick), or a four-beat default."""
    return pattern_lines(pattern).get("kick", "x...x...x...x...")
