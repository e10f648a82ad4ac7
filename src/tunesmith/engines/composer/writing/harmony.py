"""Harmony: the chord under every beat, chosen from the style's progression tables.

Each kind of section keeps one progression for the whole song (so a chorus comes back as the
same chorus); the seed decides which. Section ends get cadences: a half cadence before a
chorus or drop, the style's section cadence on the tonic after any other section (so each
section comes home before the next one starts), and the piece closes with the style's ending
formula on the tonic.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

from .feel import BeatNote
from .form import SectionPlan, Timeline
from .styles import StyleDef
from .theory import (
    Chord,
    diatonic_chord,
    mode_family,
    nearest_pitch,
    parse_numeral,
    read_grid,
    voice_chord,
)

#: Where a section kind looks for its progression when the style has no table of its own.
_FALLBACK = {
    "intro": ("intro", "verse"), "verse": ("verse",), "pre_chorus": ("pre_chorus", "bridge"),
    "chorus": ("chorus", "verse"), "bridge": ("bridge", "verse"),
    "breakdown": ("breakdown", "bridge", "chorus", "verse"),
    "build": ("build", "pre_chorus", "verse"), "drop": ("drop", "chorus", "verse"),
    "solo": ("solo", "verse"), "outro": ("outro", "chorus", "verse"),
}
#: Sections after which a half cadence prepares the arrival.
_ARRIVALS = frozenset({"chorus", "drop"})
#: Sections shorter than this keep their progression whole: a cadence would be all they had.
_CADENCE_MIN_BARS = 4


@dataclass(frozen=True)
class ChordEvent:
    """A chord sounding from ``start`` to ``end`` (beats) in section number ``section``."""

    start: float
    end: float
    chord: Chord
    section: int


class Harmony:
    """The chord timeline of a piece, searchable by beat; ``tonic`` is the key's pitch class."""

    def __init__(self, events: list[ChordEvent], tonic: int | None = None) -> None:
        self.events = events
        self.tonic = tonic
        self._starts = [e.start for e in events]

    def at(self, beat: float) -> ChordEvent:
        """The chord event sounding at ``beat``."""
        index = bisect.bisect_right(self._starts, beat + 1e-9) - 1
        return self.events[max(0, min(index, len(self.events) - 1))]

    def next_after(self, event: ChordEvent) -> ChordEvent:
        """The event after ``event`` (itself at the end)."""
        index = bisect.bisect_right(self._starts, event.start + 1e-9)
        return self.events[min(index, len(self.events) - 1)]


class ChordReader:
    """Reads numerals in a key, re-reading them diatonically when the table's family differs."""

    def __init__(self, tonic: int, mode: str, native: bool) -> None:
        self.tonic, self.mode, self.native = tonic, mode, native

    def __call__(self, symbol: str) -> Chord:
        if self.native:
            return parse_numeral(symbol, self.tonic)
        return diatonic_chord(symbol, self.tonic, self.mode)


def choose_progressions(style: StyleDef, mode: str, rng: random.Random) -> dict[str, str]:
    """One progression per section kind for this song (seeded)."""
    table, _ = style.progressions_for(mode_family(mode))
    if not table:
        table = {"verse": ["I IV V I"]}
    chosen: dict[str, str] = {}
    for kind, sources in _FALLBACK.items():
        source = next((s for s in sources if s in table), next(iter(table)))
        options = table[source]
        chosen[kind] = options[rng.randrange(len(options))]
    if chosen["chorus"] == chosen["verse"] and len(table.get("verse", [])) > 1:
        others = [p for p in table["verse"] if p != chosen["chorus"]]
        chosen["verse"] = others[rng.randrange(len(others))]
    return chosen


def parse_bars(progression: str) -> list[list[str]]:
    """"ii7 V7 | Imaj7" → [["ii7", "V7"], ["Imaj7"]]; without "|" each chord is one bar."""
    if "|" in progression:
        return [bar.split() for bar in progression.split("|") if bar.split()]
    return [[symbol] for symbol in progression.split()]


def build_harmony(style: StyleDef, tonic: int, mode: str, plans: list[SectionPlan],
                  timeline: Timeline, rng: random.Random) -> Harmony:
    """Chord events for every bar of the piece, cadences included."""
    _, native = style.progressions_for(mode_family(mode))
    read = ChordReader(tonic, mode, native)
    chosen = choose_progressions(style, mode, rng)
    events: list[ChordEvent] = []
    bar = 0
    for index, plan in enumerate(plans):
        following = plans[index + 1].name if index + 1 < len(plans) else None
        bars = _section_bars(style, plan, chosen, following, mode, read)
        for symbols in bars:
            start = bar * timeline.beats_per_bar
            length = timeline.beats_per_bar
            if bar == timeline.bars - 1:
                length += timeline.tail_beats  # the final chord holds through the remainder
            events += _split_bar(symbols, start, length, read, index)
            bar += 1
    return Harmony(events, tonic)


def _section_bars(style: StyleDef, plan: SectionPlan, chosen: dict[str, str],
                  following: str | None, mode: str, read: ChordReader) -> list[list[str]]:
    """The chord symbols of each bar of one section, with its cadence."""
    base = parse_bars(chosen.get(plan.name, chosen["verse"]))
    stretch = style.chord_bars if plan.bars >= len(base) * style.chord_bars else 1
    cycle = [bar for bar in base for _ in range(stretch)]
    bars = [cycle[i % len(cycle)] for i in range(plan.bars)]
    family = mode_family(mode)
    if following is None:
        ending = parse_bars(style.ending.get(family, "V I"))
        ending = ending[-plan.bars:] if plan.bars < len(ending) else ending
        bars[len(bars) - len(ending):] = ending
    elif following in _ARRIVALS and plan.name not in _ARRIVALS and plan.bars >= 2:
        bars[-1] = [style.half.get(family, "V")]
    elif plan.bars >= _CADENCE_MIN_BARS and read(bars[-1][-1]).root != read.tonic:
        cadence = section_cadence(style, family)
        if cadence:
            bars[len(bars) - len(cadence):] = cadence
    return bars


def section_cadence(style: StyleDef, family: str) -> list[list[str]]:
    """The bars that bring a section home: the style's own, else its ending's last two bars."""
    if family in style.cadence:
        return parse_bars(style.cadence[family])
    return parse_bars(style.ending.get(family, "V I"))[-2:]


def _split_bar(symbols: list[str], start: float, length: float, read: ChordReader,
               section: int) -> list[ChordEvent]:
    """Chords sharing a bar split it evenly (the last one takes any held tail)."""
    step = length if len(symbols) == 1 else round(length / len(symbols), 6)
    out = []
    for i, symbol in enumerate(symbols):
        end = start + length if i == len(symbols) - 1 else start + (i + 1) * step
        out.append(ChordEvent(start + i * step, end, read(symbol), section))
    return out


# ------------------------------------------------------------------ voicing and comping ---
@dataclass(frozen=True)
class CompSection:
    """What a chord instrument (chords, pad, arpeggio) plays in one section."""

    grid: str  # the pattern itself (grooves.toml [comp] value)
    start: float
    bars: int
    bar_beats: float
    low: int
    high: int
    voicing: str  # close, power, power3, spread, piano
    velocity: int


class Voicer:
    """Voices chords for one part, leading each voice to the nearest note of the next chord."""

    def __init__(self) -> None:
        self.previous: tuple[int, ...] | None = None
        self._cache: dict[tuple[int, int, int, str], tuple[int, ...]] = {}

    def voice(self, event: ChordEvent, low: int, high: int, kind: str) -> tuple[int, ...]:
        """The voicing of ``event`` for this part (stable for the event once chosen)."""
        key = (id(event), low, high, kind)
        if key not in self._cache:
            self._cache[key] = _voicing(event.chord, self.previous, low, high, kind)
            self.previous = self._cache[key]
        return self._cache[key]


def _voicing(chord: Chord, previous: tuple[int, ...] | None, low: int, high: int,
             kind: str) -> tuple[int, ...]:
    if kind in ("power", "power3"):
        root = nearest_pitch(chord.root, low + 5, low, high)
        if kind == "power":
            return (root, root + 7, root + 12)
        # The chord's third above the octave, as a second guitar harmonises a riff: under
        # distortion a bare power chord's fifth harmonic is a major third, and a minor key's
        # power chords were heard as major (8 of 16 metal renders) until the third was played.
        return (root, root + 7, root + 12, root + 12 + (chord.third - chord.root) % 12)
    upper = voice_chord(chord, previous, max(low, (low + high) // 2 - 7), high, size=4)
    if kind in ("spread", "piano"):
        bass = nearest_pitch(chord.root, low + 4, low, upper[0] - 3)
        tones = upper[1:] if kind == "piano" and len(upper) > 3 else upper
        return (bass, *tones)
    return voice_chord(chord, previous, low, high, size=4)


def comp_section(section: CompSection, harmony: Harmony, voicer: Voicer) -> list[BeatNote]:
    """The notes of a comping grid over one section, re-struck where the chord changes."""
    steps = round(section.bar_beats * 4)
    grid = section.grid
    notes: list[BeatNote] = []
    for bar in range(section.bars):
        bar_start = section.start + bar * section.bar_beats
        for step, length, symbol in read_grid(grid, bar * steps % len(grid), steps):
            beat = bar_start + step * 0.25
            notes += _strike(section, harmony, voicer, beat, length * 0.25, symbol, step)
    return notes


def _strike(section: CompSection, harmony: Harmony, voicer: Voicer, beat: float,
            length: float, symbol: str, step: int) -> list[BeatNote]:
    """One grid onset, split at chord changes so a held chord never clashes with the next."""
    out: list[BeatNote] = []
    end = beat + length
    while beat < end - 1e-6:
        event = harmony.at(beat)
        piece = min(end, event.end) - beat
        voicing = voicer.voice(event, section.low, section.high, section.voicing)
        accent = 6 if step % 4 == 0 else 0
        velocity = min(127, section.velocity + accent)
        for pitch in _pick(voicing, symbol):
            out.append(BeatNote(beat, piece * 0.97, pitch, velocity))
        beat += piece
        if symbol not in "CLU":
            break  # a single arpeggio note is not re-struck
    return out


def _pick(voicing: tuple[int, ...], symbol: str) -> tuple[int, ...]:
    """The voices a comping symbol plays."""
    if symbol == "C":
        return voicing
    if symbol == "L":
        return voicing[:1]
    if symbol == "U":
        return voicing[1:] or voicing
    if symbol.isdigit():
        index = int(symbol)
        if index >= len(voicing):
            return (voicing[index % len(voicing)] + 12,)
        return (voicing[index],)
    return ()


def guide_tones(harmony: Harmony, start: float, end: float, low: int, high: int,
                velocity: int) -> list[BeatNote]:
    """A counter-line of sustained thirds and sevenths, moving by the smallest step."""
    notes: list[BeatNote] = []
    previous = (low + high) / 2
    for event in harmony.events:
        if event.end <= start or event.start >= end:
            continue
        chord = event.chord
        options = [t for t in (chord.seventh, chord.third) if t is not None]
        pitch = min((nearest_pitch(t, previous, low, high) for t in options),
                    key=lambda p: abs(p - previous))
        begin, finish = max(start, event.start), min(end, event.end)
        notes.append(BeatNote(begin, (finish - begin) * 0.98, pitch, velocity))
        previous = pitch
    return notes
