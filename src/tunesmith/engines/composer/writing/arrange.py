"""Arrangement: a :class:`StyleSpec`, a duration and a seed become a complete :class:`Score`.

The form fills the duration exactly (see ``form``), the harmony follows the style's tables
(``harmony``), and each role of the ensemble is written section by section: which roles play
where comes from ``data/forms.toml`` [roles], how busily from the section's energy tier. The
last bar is a held final chord that rings to the end. All choices come from seeded
``random.Random`` streams, one per concern, so the same spec and seed give the same Score.

Example::

    >>> from tunesmith.engines.composer.writing.prompt import interpret
    >>> score = compose(interpret("upbeat pop with piano"), duration=30.0, seed=7)
    >>> score.duration, score.sections[-1].end
    (30.0, 30.0)
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from ..library.instruments import DEFAULT_RANGE, catalogue
from ..score import Cue, Note, Part, Score, Section
from .bass import BassSection, bass_section
from .drums import DrumSection, drum_section, final_hit, kick_steps, pattern_lines, tier
from .feel import BeatNote, Feel
from .form import SectionPlan, Timeline, beats_per_bar, fit_tempo, plan_sections
from .harmony import CompSection, Harmony, Voicer, build_harmony, comp_section, guide_tones
from .melody import Motif, Slot, make_melody, make_motif, phrase_slots
from .prompt import StyleSpec
from .styles import StyleDef, get_style, load_data
from .theory import pitch_class

PITCHED_ROLES = ("bass", "chords", "pad", "arp", "counter", "melody")
#: Default registers per role (the instrument's own range narrows them further).
_METER_FALLBACK = {12: "waltz", 6: "six_eight"}
_PEAKS = frozenset({"chorus", "drop", "solo"})


@dataclass(frozen=True)
class Piece:
    """Everything decided before the parts are written."""

    spec: StyleSpec
    style: StyleDef
    timeline: Timeline
    plans: list[SectionPlan]
    starts: list[float]  # section starts in beats
    key: str
    tonic: int
    mode: str
    harmony: Harmony
    seed: int

    def rng(self, concern: str) -> random.Random:
        """An independent, seeded random stream for one concern."""
        return random.Random(f"{self.seed}:{concern}")

    def section_end(self, index: int) -> float:
        """End of a section in beats, stopping before the final held bar."""
        end = self.starts[index + 1] if index + 1 < len(self.plans) else self.final_bar
        return min(end, self.final_bar)

    @property
    def final_bar(self) -> float:
        """Beat where the closing held chord starts."""
        return (self.timeline.bars - 1) * self.timeline.beats_per_bar

    @property
    def steps_per_bar(self) -> int:
        return round(self.timeline.beats_per_bar * 4)


def compose(spec: StyleSpec, duration: float, seed: int) -> Score:
    """Write a full arrangement of ``spec`` lasting exactly ``duration`` seconds."""
    return arrange_piece(plan_piece(spec, float(duration), seed), float(duration))


def arrange_piece(piece: Piece, duration: float, extra: Sequence[Part] = ()) -> Score:
    """Write every role of a planned piece into a Score; ``extra`` parts (vocals) join it."""
    spec = piece.spec
    roles = _roles_by_section(piece)
    parts = [_part(piece, role, roles, duration) for role in spec.instruments]
    parts = [p for p in [*parts, *extra] if p.notes]
    return Score(
        style=spec.style, substyle=spec.substyle, bpm=piece.timeline.bpm,
        key=piece.key, mode=piece.mode, time_signature=spec.time_signature,
        duration=float(duration), sections=_sections(piece, duration), parts=parts,
        production=spec.production, cues=_cues(piece, duration), swing=spec.swing,
        mood=spec.mood, energy=spec.energy,
    )


def timeline_for(spec: StyleSpec, duration: float) -> tuple[StyleDef, Timeline]:
    """The style and the bar grid that fill ``duration`` exactly."""
    style = get_style(spec.style, spec.substyle)
    bar_beats = beats_per_bar(spec.time_signature)
    return style, fit_tempo(duration, spec.bpm, spec.bpm_explicit, bar_beats, style.bpm)


def plan_piece(spec: StyleSpec, duration: float, seed: int,
               plans: list[SectionPlan] | None = None) -> Piece:
    """Decide tempo, form, key and harmony; ``plans`` overrides the style's form (it must
    fill the bars of :func:`timeline_for`, as a form written from lyrics does)."""
    style, timeline = timeline_for(spec, duration)
    bar_beats = timeline.beats_per_bar
    plans = plans or plan_sections(style.form, timeline.bars, spec.energy)
    starts, bar = [], 0
    for plan in plans:
        starts.append(bar * bar_beats)
        bar += plan.bars
    key_rng = random.Random(f"{seed}:key")
    key = spec.key or style.keys[key_rng.randrange(len(style.keys))]
    tonic = pitch_class(key)
    harmony = build_harmony(style, tonic, spec.mode, plans, timeline,
                            random.Random(f"{seed}:harmony"))
    return Piece(spec, style, timeline, plans, starts, key, tonic, spec.mode, harmony, seed)


def _roles_by_section(piece: Piece) -> list[set[str]]:
    """Which ensemble roles play in each section (never none)."""
    table = load_data("forms")["roles"]
    present = set(piece.spec.instruments)
    out = []
    for plan in piece.plans:
        roles = set(table.get(plan.name, present)) & present
        out.append(roles or set(present))
    return out


# ---------------------------------------------------------------------------- parts ---
def _part(piece: Piece, role: str, roles: list[set[str]], duration: float) -> Part:
    instrument = piece.spec.instruments[role]
    beats: list[BeatNote] = []
    writer = _WRITERS[role]
    voicer = Voicer()
    for index, plan in enumerate(piece.plans):
        if role in roles[index] and piece.section_end(index) > piece.starts[index]:
            beats += writer(piece, index, plan, instrument, voicer)
    if role in roles[-1] or role in ("chords", "pad", "bass", "melody"):
        beats += _final_chord(piece, role, instrument, voicer)
    return _finish_part(piece, role, instrument, beats, duration)


def _instrument_range(instrument: str) -> tuple[int, int]:
    low, high = catalogue().ranges.get(instrument, DEFAULT_RANGE)
    return int(low), int(high)


def _register(role: str, instrument: str, voicing: str) -> tuple[int, int]:
    """The role's register, narrowed to what the instrument can play."""
    table = load_data("arrangement")
    low, high = table["registers"][role]
    if role == "chords":
        low, high = table["chord_registers"].get(voicing, (low, high))
    inst_low, inst_high = _instrument_range(instrument)
    low, high = max(low, inst_low), min(high, inst_high)
    if high - low < 14:
        low, high = inst_low, min(inst_high, inst_low + 24)
    return low, high


def _bars(piece: Piece, index: int) -> int:
    span = piece.section_end(index) - piece.starts[index]
    return max(0, round(span / piece.timeline.beats_per_bar))


def _grid(kind: str, name: str, steps: int) -> str:
    """A comp or bass grid by name, swapped for the metre's own when it does not fit."""
    table = load_data("grooves")[kind]
    grid = table.get(name) or table["whole"]
    if grid in ("walk", "kick") or len(grid) % steps == 0 or steps not in _METER_FALLBACK:
        return str(grid)
    return str(table[_METER_FALLBACK[steps]])


def _drum_pattern(piece: Piece, energy: float) -> str:
    name = piece.style.drums.get(tier(energy), "")
    lines = pattern_lines(name)
    steps = piece.steps_per_bar
    if lines and steps in _METER_FALLBACK and any(len(v) % steps for v in lines.values()):
        return _METER_FALLBACK[steps]
    return name


def _write_drums(piece: Piece, index: int, plan: SectionPlan, instrument: str,
                 voicer: Voicer) -> list[BeatNote]:
    last = index == len(piece.plans) - 1
    section = DrumSection(
        pattern=_drum_pattern(piece, plan.energy), fill="" if last else piece.style.fill,
        start=piece.starts[index], bars=_bars(piece, index),
        bar_beats=piece.timeline.beats_per_bar, energy=plan.energy,
        crash=index > 0 and (plan.energy >= 0.5 or plan.name in ("chorus", "drop")),
        half_time=piece.spec.feel == "half_time", build=plan.name == "build",
    )
    return drum_section(section, piece.rng(f"drums:{index}"))


def _write_bass(piece: Piece, index: int, plan: SectionPlan, instrument: str,
                voicer: Voicer) -> list[BeatNote]:
    low, high = _instrument_range(instrument)
    name = piece.style.bass.get(tier(plan.energy), "whole") or "whole"
    section = BassSection(
        grid=_grid("bass", name, piece.steps_per_bar), start=piece.starts[index],
        bars=_bars(piece, index), bar_beats=piece.timeline.beats_per_bar, energy=plan.energy,
        low=low, high=min(high, low + 26), kick=kick_steps(_drum_pattern(piece, plan.energy)),
    )
    return bass_section(section, piece.harmony, piece.rng(f"bass:{index}"))


def _velocity(role: str, energy: float) -> int:
    """How hard a role plays in a section of ``energy`` (``data/arrangement.toml``)."""
    entry = load_data("arrangement")["velocity"][role]
    return int(entry["base"] + entry["energy"] * energy)


def _write_comp(piece: Piece, index: int, plan: SectionPlan, instrument: str,
                voicer: Voicer, role: str) -> list[BeatNote]:
    style = piece.style
    name = {"chords": style.comp.get(tier(plan.energy), "whole"), "pad": style.pad,
            "arp": style.arp}[role] or "whole"
    voicing = style.voicing if role == "chords" else "close"
    low, high = _register(role, instrument, voicing)
    section = CompSection(
        grid=_grid("comp", name, piece.steps_per_bar), start=piece.starts[index],
        bars=_bars(piece, index), bar_beats=piece.timeline.beats_per_bar, low=low, high=high,
        voicing=voicing, velocity=_velocity(role, plan.energy),
    )
    return comp_section(section, piece.harmony, voicer)


def _write_counter(piece: Piece, index: int, plan: SectionPlan, instrument: str,
                   voicer: Voicer) -> list[BeatNote]:
    low, high = _register("counter", instrument, "close")
    return guide_tones(piece.harmony, piece.starts[index], piece.section_end(index), low, high,
                       _velocity("counter", plan.energy))


def _write_melody(piece: Piece, index: int, plan: SectionPlan, instrument: str,
                  voicer: Voicer) -> list[BeatNote]:
    """Four-bar phrases from the section kind's motif; question then answer; chorus higher."""
    rng = piece.rng(f"melody:{index}")
    bars, bar_beats = _bars(piece, index), piece.timeline.beats_per_bar
    low, high = _melody_range(piece, plan, instrument)
    slots, moves, cadences = [], [], {}
    for phrase, first in enumerate(range(0, bars, 4)):
        motif = _motif(piece, plan, rng if plan.name == "solo" else None)
        start = piece.starts[index] + first * bar_beats
        more, contour = phrase_slots(motif, start, min(4, bars - first), bar_beats, rng)
        slots += more
        moves += contour
        cadences[len(slots) - 1] = phrase % 2 == 1 or first + 4 >= bars
    velocity = _velocity("melody", plan.energy)
    return make_melody(piece.harmony, slots, rng, (low, high), piece.tonic, piece.mode,
                       moves, cadences, velocity, _climax(piece, index, plan, slots))


def _climax(piece: Piece, index: int, plan: SectionPlan, slots: list[Slot]) -> int | None:
    """The chorus peaks on the first strong note of its third bar."""
    if plan.name not in _PEAKS:
        return None
    third_bar = piece.starts[index] + 2 * piece.timeline.beats_per_bar
    return next((i for i, s in enumerate(slots) if s.start >= third_bar and s.strong), None)


def _motif(piece: Piece, plan: SectionPlan, improvise: random.Random | None) -> Motif:
    """The song's motif for a section kind (the same every time it returns)."""
    rng = improvise or piece.rng(f"motif:{plan.name}")
    busy = piece.style.melody.density * (0.7 + 0.6 * plan.energy)
    busy += {"solo": 0.25, "chorus": 0.1, "drop": 0.1, "breakdown": -0.2}.get(plan.name, 0.0)
    compound = piece.spec.time_signature[1] == 8
    return make_motif(rng, piece.timeline.beats_per_bar, busy, compound)


def _melody_range(piece: Piece, plan: SectionPlan, instrument: str) -> tuple[int, int]:
    """The style's lead range inside the instrument's; choruses sit a few semitones higher."""
    inst_low, inst_high = _instrument_range(instrument)
    low, high = max(piece.style.melody.low, inst_low), min(piece.style.melody.high, inst_high)
    if high - low < 12:
        low, high = inst_low + 7, min(inst_high, inst_low + 26)
    if plan.name in _PEAKS:
        return min(low + 3, inst_high - 12), min(high + 3, inst_high)
    return low, max(low + 12, high - 4)  # verses stay below the chorus's peak


def _final_chord(piece: Piece, role: str, instrument: str, voicer: Voicer) -> list[BeatNote]:
    """The closing held chord (and the drummer's last hit) from the final bar to the end."""
    start = piece.final_bar
    length = piece.timeline.total_beats - start
    event = piece.harmony.at(start)
    if role == "drums":
        return final_hit(start)
    if role in ("bass",):
        low, _ = _instrument_range(instrument)
        root = low + (event.chord.root - low) % 12
        return [BeatNote(start, length, root, 96)]
    if role == "melody":
        low, high = _melody_range(piece, piece.plans[-1], instrument)
        pitch = next(p for p in range(low + 5, high + 1) if p % 12 == event.chord.root) \
            if high - low >= 17 else low + (event.chord.root - low) % 12
        return [BeatNote(start, length, pitch, 92)]
    voicing = piece.style.voicing if role == "chords" else "close"
    low, high = _register(role, instrument, voicing)
    pitches = list(voicer.voice(event, low, high, voicing))
    if pitches[0] % 12 != event.chord.root:  # close in root position: the ear hears "home"
        pitches.insert(0, pitches[0] - ((pitches[0] - event.chord.root) % 12 or 12))
    return [BeatNote(start, length, p, 82) for p in pitches]


def _write_chords(p: Piece, i: int, s: SectionPlan, inst: str, v: Voicer) -> list[BeatNote]:
    return _write_comp(p, i, s, inst, v, "chords")


def _write_pad(p: Piece, i: int, s: SectionPlan, inst: str, v: Voicer) -> list[BeatNote]:
    return _write_comp(p, i, s, inst, v, "pad")


def _write_arp(p: Piece, i: int, s: SectionPlan, inst: str, v: Voicer) -> list[BeatNote]:
    return _write_comp(p, i, s, inst, v, "arp")


_WRITERS = {"drums": _write_drums, "bass": _write_bass, "chords": _write_chords,
            "pad": _write_pad, "arp": _write_arp, "counter": _write_counter,
            "melody": _write_melody}


def _finish_part(piece: Piece, role: str, instrument: str, beats: list[BeatNote],
                 duration: float) -> Part:
    """Swing, humanise and clip the notes into seconds; set the part's mix."""
    style = piece.style
    feel = Feel(piece.timeline.bpm, piece.spec.swing, style.swing_unit, piece.rng(f"feel:{role}"),
                style.humanize.get("timing_ms", 0.0), style.humanize.get("velocity", 0.0))
    ring = min(0.75, 0.2 * (duration - piece.final_bar * 60.0 / piece.timeline.bpm))
    notes = []
    for beat in sorted(beats):
        start, length, velocity = feel.place(beat)
        if start >= duration - 0.05:
            continue
        limit = duration - ring if beat.start >= piece.final_bar - 1e-6 else duration - 0.005
        end = min(start + length, limit)
        if end - start < 0.02:
            end = min(duration - 0.001, start + 0.02)
        notes.append(Note(round(start, 5), round(end - start, 5), beat.pitch, velocity))
    mix = {**load_data("forms")["mix"].get(role, {}), **style.mix.get(role, {})}
    return Part(name=role, instrument=instrument, role=role, notes=notes,  # type: ignore[arg-type]
                gain_db=float(mix.get("gain_db", 0.0)), pan=float(mix.get("pan", 0.0)),
                reverb=float(mix.get("reverb", 0.2)), delay=float(mix.get("delay", 0.0)),
                sidechain=piece.spec.sidechain and role in ("pad", "bass", "chords", "arp"))


# ------------------------------------------------------------------ sections, cues ---
def _sections(piece: Piece, duration: float) -> list[Section]:
    spb = 60.0 / piece.timeline.bpm
    out = []
    for i, plan in enumerate(piece.plans):
        start = piece.starts[i] * spb
        end = piece.starts[i + 1] * spb if i + 1 < len(piece.plans) else duration
        out.append(Section(plan.name, round(start, 6) if i else 0.0,
                           round(end, 6) if i + 1 < len(piece.plans) else duration,
                           plan.bars, plan.energy))
    return out


def _cues(piece: Piece, duration: float) -> list[Cue]:
    """Risers into choruses and drops, impacts on them, sweeps over builds, and so on."""
    kinds = set(piece.style.cues)
    sections = _sections(piece, duration)
    bar = piece.timeline.beats_per_bar * 60.0 / piece.timeline.bpm
    cues: list[Cue] = []
    for prev, section in itertools.pairwise(sections):
        if section.name in ("chorus", "drop"):
            if "riser" in kinds:
                cues.append(Cue("riser", max(prev.start, section.start - 2 * bar), section.start,
                                round(section.energy, 3)))
            if "impact" in kinds:
                cues.append(Cue("impact", section.start, min(duration, section.start + bar),
                                round(section.energy, 3)))
        if section.name == "build" and "filter_sweep" in kinds:
            cues.append(Cue("filter_sweep", section.start, section.end, 0.8))
        if section.name == "breakdown" and prev.name == "drop" and "downlifter" in kinds:
            cues.append(Cue("downlifter", section.start, min(section.end, section.start + bar)))
    if "tape_stop" in kinds and duration > 4 * bar:
        cues.append(Cue("tape_stop", max(0.0, duration - min(1.0, bar / 2)), duration, 0.8))
    return [c for c in cues if 0.0 <= c.start < c.end <= duration]
