"""Bass lines: grid patterns of chord degrees, a walking bass, and an 808 that follows the kick.

Pattern symbols (see ``data/grooves.toml``) name chord degrees, so one pattern serves every
chord: R root, 3 third, 5 fifth, 6 sixth, 7 seventh, 8 octave, A chromatic approach.

A section's first bass note is the key's tonic whenever the chord holds it (vi and IV over a
tonic pedal in major, bVI and iv in minor): each section starts from home.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .feel import BeatNote
from .harmony import ChordEvent, Harmony
from .theory import Chord, nearest_pitch, read_grid


@dataclass(frozen=True)
class BassSection:
    """What the bass plays in one section."""

    grid: str  # a grooves.toml [bass] value: a grid, "walk" or "kick"
    start: float
    bars: int
    bar_beats: float
    energy: float
    low: int
    high: int
    kick: str = ""  # the kick grid, for the "kick" pattern


def bass_section(section: BassSection, harmony: Harmony, rng: random.Random) -> list[BeatNote]:
    """All bass notes of one section."""
    grid = section.grid
    if grid == "walk":
        return _from_home(_walking(section, harmony, rng), section, harmony)
    if grid == "kick":
        grid = _kick_grid(section.kick)
    steps = round(section.bar_beats * 4)
    velocity = int(84 + 28 * section.energy)
    notes: list[BeatNote] = []
    for bar in range(section.bars):
        bar_start = section.start + bar * section.bar_beats
        for step, length, symbol in read_grid(grid, bar * steps % len(grid), steps):
            beat = bar_start + step * 0.25
            event = harmony.at(beat)
            pitch = _degree(symbol, event, harmony, section)
            accent = 6 if step % 4 == 0 else 0
            notes.append(BeatNote(beat, length * 0.25 * 0.95, pitch, min(127, velocity + accent)))
    return _from_home(notes, section, harmony)


def _from_home(notes: list[BeatNote], section: BassSection, harmony: Harmony) -> list[BeatNote]:
    """Put the section's downbeat on the tonic when the chord there contains it."""
    tonic = harmony.tonic
    if not notes or tonic is None or abs(notes[0].start - section.start) > 1e-6:
        return notes
    first = notes[0]
    if tonic not in harmony.at(first.start).chord.tones or first.pitch % 12 == tonic:
        return notes
    pitch = nearest_pitch(tonic, first.pitch, section.low, section.high)
    return [first._replace(pitch=pitch), *notes[1:]]


def _kick_grid(kick: str) -> str:
    """An 808 line: a root on every kick, held until the next one."""
    return "".join("R" if ch in "xX" else "-" for ch in kick) if "x" in kick.lower() else "R---"


def _root_pitch(chord: Chord, section: BassSection) -> int:
    """The chord root in the lower part of the instrument's range."""
    return nearest_pitch(chord.root, section.low + 10, section.low, section.high)


def _degree(symbol: str, event: ChordEvent, harmony: Harmony, section: BassSection) -> int:
    chord = event.chord
    root = _root_pitch(chord, section)
    intervals = {"R": 0, "3": (chord.third - chord.root) % 12, "5": (chord.fifth - chord.root) % 12,
                 "6": 9, "8": 12}
    if symbol == "7":
        seventh = chord.seventh
        return root + ((seventh - chord.root) % 12 if seventh is not None else 10)
    if symbol == "A":
        target = _root_pitch(harmony.next_after(event).chord, section)
        return target - 1 if target - 1 >= section.low else target + 1
    pitch = root + intervals.get(symbol, 0)
    return pitch if pitch <= section.high else pitch - 12


def _walking(section: BassSection, harmony: Harmony, rng: random.Random) -> list[BeatNote]:
    """Quarter notes: root on the chord's first beat, chord tones, a chromatic approach."""
    notes: list[BeatNote] = []
    beats = round(section.bars * section.bar_beats)
    previous = _root_pitch(harmony.at(section.start).chord, section)
    for i in range(beats):
        beat = section.start + i
        event = harmony.at(beat)
        upcoming = harmony.at(beat + 1)
        if abs(event.start - beat) < 1e-6:
            pitch = nearest_pitch(event.chord.root, previous, section.low, section.high)
        elif upcoming is not event or abs(event.end - (beat + 1)) < 1e-6:
            target = nearest_pitch(harmony.next_after(event).chord.root, previous,
                                   section.low, section.high)
            pitch = target + rng.choice((-1, 1))  # chromatic approach into the next root
        else:
            tones = list(event.chord.tones[1:4]) or [event.chord.root]
            pitch = nearest_pitch(rng.choice(tones), previous + rng.choice((-3, 3)),
                                  section.low, section.high)
            if pitch == previous:  # a walking line keeps walking
                pitch = nearest_pitch(event.chord.fifth, previous + 4, section.low, section.high)
        pitch = max(section.low, min(section.high, pitch))
        velocity = int(86 + 20 * section.energy) + (6 if i % 2 == 0 else 0)
        notes.append(BeatNote(beat, 0.9, pitch, min(127, velocity)))
        previous = pitch
    return notes
