"""The sung part of a song: lyrics set to a vocal melody on the piece's harmony.

:func:`compose_song` is :func:`arrange.compose` with a singer. The lyrics (given, or written
for the style's form by :mod:`lyricist`) decide the form (:mod:`lyricform`); each sung line
then gets its slot of bars and is set like this:

* its syllables (espeak-ng, :mod:`phonemes`) go on a grid of eighths, sixteenths when crowded,
  stressed syllables on strong beats (``place_syllables``); spare grid steps become a
  melisma on a stressed vowel or tie the note over; the last syllable holds from a beat;
* the pitches follow the harmony (``melody.make_melody``: chord tones on strong beats) in
  the voice's range, higher in choruses; a line ends open or closed in turn;
* the end of the slot is left for a breath, or for the backing vocals of a ``(...)`` part;
* in lifted sections (choruses, drops) a harmony voice sings chord tones above the lead.

The lead instrument steps back: its notes that would play over a sung line are removed.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

from ..phonemes import place_syllables, syllabify_line
from ..score import BACKING, HARMONY, LEAD, Note, Part, Score
from .arrange import Piece, arrange_piece, plan_piece, timeline_for
from .feel import BeatNote, Feel
from .form import plan_sections, plans_from_layout
from .lyricist import write_lyrics
from .lyrics import Line, parse_lyrics
from .melody import Slot, line_grid, make_melody, metric_strength
from .prompt import StyleSpec, find, normalize
from .song_form import SongForm, bars_per_line, fit_lyrics, lines_for_form, vocal_data, written_form
from .theory import scale_pitch_classes


@dataclass(frozen=True)
class LineSlot:
    """Where a lyric line is sung: ``start`` and ``span`` in beats, the section it is in."""

    line: Line
    start: float
    span: float
    kind: str
    number: int  # the line's place in its section
    last: bool  # the section's last line


@dataclass(frozen=True)
class Song:
    """What the singer adds to a composition."""

    form: SongForm
    voice: str
    written: bool  # the composer wrote the lyrics
    lyrics: str  # the lyrics that were sung, as returned to the caller

    def plan(self, score: Score) -> dict[str, Any]:
        """The vocal part of the plan: voice, sung sections, and what was left out."""
        sections = [
            {"name": f.source.name if f.source else s.name, "tag": f.source.tag if f.source
             else None, "start": round(s.start, 3), "end": round(s.end, 3),
             "lines": sum(1 for line in f.lines if not line.pause)}
            for s, f in zip(score.sections, self.form.sections, strict=True) if f.sung
        ]
        return {"voice": self.voice, "lyrics": "written" if self.written else "given",
                "sections": sections, "lines_sung": self.form.lines_sung,
                "lines_given": self.form.lines_given, "truncated": self.form.truncated,
                "note": self._note(score)}

    def _note(self, score: Score) -> str | None:
        if not self.form.truncated:
            return None
        return (f"the lyrics do not fit in {score.duration:g} s: sang the first "
                f"{self.form.lines_sung} of {self.form.lines_given} lines, and the returned "
                "lyrics hold only those; raise duration_seconds or shorten the lyrics to sing "
                "them all")


def choose_voice(prompt: str, style: str) -> str:
    """The singer a prompt asks for ("female vocals", "male singer", "choir"), else the
    style's usual one."""
    text = normalize(prompt)
    data = vocal_data()
    for name, voice in data["voices"].items():
        if any(find(text, phrase) >= 0 for phrase in voice["keywords"]):
            return str(name)
    return str(data["style_voices"].get(style, data["default_voice"]))


def compose_song(spec: StyleSpec, duration: float, seed: int,
                 lyrics: str | None = None) -> tuple[Score, Song]:
    """A full arrangement with a sung lead: ``lyrics`` as given, or written for the prompt."""
    duration = float(duration)
    form, written = _song_form(spec, duration, seed, lyrics)
    piece = plan_piece(spec, duration, seed, plans_from_layout(form.layout(), spec.energy))
    voice = choose_voice(spec.prompt, spec.style)
    parts = write_vocals(piece, form, voice, duration)
    score = arrange_piece(piece, duration, parts)
    _step_back(score, parts[0] if parts else None)
    performed = form.performed()
    if lyrics is not None and not form.truncated:
        text = lyrics.strip()
    else:
        text = performed.to_text(tags=written or parse_lyrics(lyrics or "").tagged)
    return score, Song(form, voice, written, text)


def _song_form(spec: StyleSpec, duration: float, seed: int,
               lyrics: str | None) -> tuple[SongForm, bool]:
    style, timeline = timeline_for(spec, duration)
    bar_seconds = timeline.beats_per_bar * 60.0 / timeline.bpm
    if lyrics is not None:
        return fit_lyrics(parse_lyrics(lyrics), timeline.bars, bar_seconds), False
    plans = plan_sections(style.form, timeline.bars, spec.energy)
    per_line = bars_per_line(bar_seconds)
    wanted = lines_for_form(plans, per_line)
    mood = spec.mood or None
    if not any(wanted):  # too short for the style's form to hold a line: one verse couplet
        text = write_lyrics(spec.prompt, seed, mood, [("verse", 2)])
        return fit_lyrics(parse_lyrics(text), timeline.bars, bar_seconds), True
    text = write_lyrics(spec.prompt, seed, mood, [w for w in wanted if w])
    return written_form(plans, wanted, parse_lyrics(text), per_line), True


# ------------------------------------------------------------------------ the lines ---
def line_slots(piece: Piece, form: SongForm) -> list[LineSlot]:
    """Every sung line with its slot of bars, in order."""
    bar_beats = piece.timeline.beats_per_bar
    pause = int(vocal_data()["line"]["pause_bars"])
    slots = []
    for index, section in enumerate(form.sections):
        at, number = piece.starts[index], 0
        sung = [line for line in section.lines if not line.pause]
        for line in section.lines:
            bars = pause if line.pause else form.bars_per_line
            if not line.pause:
                slots.append(LineSlot(line, at, bars * bar_beats, section.kind, number,
                                      number == len(sung) - 1))
                number += 1
            at += bars * bar_beats
    return slots


def write_vocals(piece: Piece, form: SongForm, voice: str, duration: float) -> list[Part]:
    """The lead, harmony and backing vocal parts (lead first; empty parts are dropped later)."""
    data = vocal_data()
    feel = Feel(piece.timeline.bpm, piece.spec.swing, piece.style.swing_unit, random.Random(0))
    lead: list[Note] = []
    harmony: list[Note] = []
    backing: list[Note] = []
    for slot in line_slots(piece, form):
        rng = random.Random(f"{piece.seed}:vocal:{slot.kind}:{slot.number}:{slot.line.text}")
        notes, rest_at = _lead_line(piece, slot, voice, rng)
        lead += _seconds(notes, feel, slot.start, duration)
        if slot.kind in data["lift_kinds"]:
            harmony += _seconds(_harmony_line(piece, notes, voice), feel, slot.start, duration)
        if slot.line.backing:
            backing += _seconds(_backing_line(piece, slot, rest_at, rng), feel, slot.start,
                                duration)
    mix, instrument = data["mix"], data["voices"][voice]["instrument"]
    gains = data["harmony"]
    return [
        Part(LEAD, instrument, "vocal", lead, reverb=mix["reverb"], delay=mix["delay"]),
        Part(HARMONY, instrument, "vocal", harmony, gain_db=gains["gain_db"],
             pan=mix["harmony_pan"], reverb=mix["reverb"] * 1.3),
        Part(BACKING, data["voices"]["choir"]["instrument"], "vocal", backing,
             gain_db=gains["backing_gain_db"], pan=mix["backing_pan"], reverb=mix["reverb"] * 1.5),
    ]


_Sung = tuple[BeatNote, str]


def _lead_line(piece: Piece, slot: LineSlot, voice: str,
               rng: random.Random) -> tuple[list[_Sung], float]:
    """The lead's notes for one line (beats, lyric), and the beat where its tail rest starts."""
    cfg = vocal_data()["line"]
    rest = float(cfg["rest_beats"] if slot.span > piece.timeline.beats_per_bar
                 else cfg["short_rest_beats"])
    if slot.line.backing:
        words = len(syllabify_line(" ".join(slot.line.backing)))
        rest = max(rest, min(slot.span / 2, words * float(cfg["backing_beats"]) + 0.5))
    end = slot.start + slot.span - rest
    onsets = _line_rhythm(piece, slot, end, rng)
    if not onsets:
        return [], slot.start
    lengths = [b[0] - a[0] for a, b in itertools.pairwise(onsets)] + [end - onsets[-1][0]]
    bar_beats = piece.timeline.beats_per_bar
    slots = [Slot(at, length, metric_strength(at, bar_beats) >= 0.75 or length >= 1.5)
             for (at, _), length in zip(onsets, lengths, strict=True)]
    lifted = slot.kind in vocal_data()["lift_kinds"]
    climax = next((i for i, s in enumerate(slots) if s.strong), None) \
        if lifted and slot.number == 2 else None
    beats = make_melody(piece.harmony, slots, rng, _range(voice, slot.kind), piece.tonic,
                        piece.mode, _contour(len(slots), rng),
                        cadences={len(slots) - 1: slot.number % 2 == 1 or slot.last},
                        velocity=96, climax=climax)
    return list(zip(beats, [lyric for _, lyric in onsets], strict=True)), end


def _line_rhythm(piece: Piece, slot: LineSlot, end: float,
                 rng: random.Random) -> list[tuple[float, str]]:
    """(beat, lyric) of each note of a line: stressed syllables on strong grid steps, the
    last syllable held from a beat to ``end``."""
    cfg = vocal_data()["line"]
    syllables = syllabify_line(slot.line.text)
    if not syllables:
        return []
    bar_beats = piece.timeline.beats_per_bar
    pickup = random.Random(f"{piece.seed}:pickup:{slot.kind}").choice(cfg["pickups"])
    positions, last = line_grid(len(syllables), slot.start + pickup, end, bar_beats, rng,
                                tuple(cfg["spread"]), float(cfg["hold_beats"]))
    strengths = [metric_strength(p, bar_beats) for p in positions]
    lyrics = place_syllables(syllables[:-1], strengths) if positions else []
    onsets = _onsets(positions, lyrics, strengths, rng.choice(cfg["melismas"]))
    return [*onsets, (last, syllables[-1].lyric)]


def _contour(count: int, rng: random.Random) -> list[int]:
    """Scale steps for a sung line: mostly steps, rising to a peak and falling after it."""
    cfg = vocal_data()["line"]
    peak = rng.uniform(0.3, 0.7) * count
    moves = []
    for i in range(count):
        direction = 1 if i < peak else -1
        if rng.random() < float(cfg["turn"]):
            direction = -direction
        moves.append(direction * int(rng.choice(cfg["steps"])))
    return moves


def _onsets(positions: list[float], lyrics: list[str], strengths: list[float],
            melismas: int) -> list[tuple[float, str]]:
    """Notes from the grid: a spare step after a note on a beat is a melisma (while any are
    allowed), any other spare step ties the note before it over."""
    out: list[tuple[float, str]] = []
    on_beat = False
    for at, lyric, strength in zip(positions, lyrics, strengths, strict=True):
        if lyric or not out:
            out.append((at, lyric))
            on_beat = strength >= 0.5
        elif melismas > 0 and on_beat:
            out.append((at, ""))
            melismas -= 1
            on_beat = False
    return out


def _range(voice: str, kind: str) -> tuple[int, int]:
    entry = vocal_data()["voices"][voice]
    low, high = entry["chorus" if kind in vocal_data()["lift_kinds"] else "verse"]
    return int(low), int(high)


def _harmony_line(piece: Piece, lead: list[_Sung], voice: str) -> list[_Sung]:
    """Chord tones a third or fourth above the lead (below when above would leave the range)."""
    cfg = vocal_data()["harmony"]
    _, high = _range(voice, "chorus")
    scale = scale_pitch_classes(piece.tonic, piece.mode)
    out = []
    for note, lyric in lead:
        tones = piece.harmony.at(note.start).chord.tones
        lo, hi = cfg["above"]
        sign = 1 if note.pitch + lo <= high + 2 else -1
        lo, hi = (lo, hi) if sign > 0 else cfg["below"]
        options = [note.pitch + sign * d for d in range(lo, hi + 1)
                   if (note.pitch + sign * d) % 12 in tones]
        if not options:  # a diatonic third: two scale steps away
            steps = [note.pitch + sign * d for d in range(1, 6)
                     if (note.pitch + sign * d) % 12 in scale]
            options = steps[1:2] or [note.pitch + sign * 3]
        out.append((note._replace(pitch=options[0], velocity=84), lyric))
    return out


def _backing_line(piece: Piece, slot: LineSlot, rest_at: float,
                  rng: random.Random) -> list[_Sung]:
    """The ``(...)`` words, answered in the line's tail on eighths, on chord tones."""
    cfg = vocal_data()["line"]
    step = float(cfg["backing_beats"])
    syllables = syllabify_line(" ".join(slot.line.backing))
    start = rest_at + 0.5 if slot.line.text else slot.start
    end = slot.start + slot.span - 0.25
    count = max(1, min(len(syllables), int((end - start) / step)))
    positions = [start + i * step for i in range(count)]
    lengths = [step] * (count - 1) + [max(step, end - positions[-1])]
    strengths = [metric_strength(p, piece.timeline.beats_per_bar) for p in positions]
    lyrics = place_syllables(syllables, strengths)
    slots = [Slot(p, n, True) for p, n in zip(positions, lengths, strict=True)]
    low, high = _range("choir", "verse")
    beats = make_melody(piece.harmony, slots, rng, (low, high), piece.tonic, piece.mode,
                        velocity=80)
    return list(zip(beats, lyrics, strict=True))


def _seconds(notes: list[_Sung], feel: Feel, origin: float, duration: float) -> list[Note]:
    """Beats to seconds, swung but never drifted, timed from the line's first bar line
    ``origin`` so a line that comes back is the same phrase to the voice's cache; nothing
    past the end of the track."""
    base = round(feel.seconds(origin), 4)
    out = []
    for note, lyric in notes:
        start = base + round(feel.seconds(note.start) - feel.seconds(origin), 4)
        length = round(feel.seconds(note.start + note.length) - feel.seconds(note.start), 4)
        length = min(length, round(duration - 0.05 - start, 4))
        if length >= 0.03:
            out.append(Note(start, length, note.pitch, note.velocity, lyric))
    return out


def sung_spans(lead: Part, gap: float = 0.3) -> list[tuple[float, float]]:
    """Spans where the lead voice sings: its notes joined across rests shorter than ``gap``."""
    spans: list[tuple[float, float]] = []
    for note in sorted(lead.notes, key=lambda n: n.start):
        end = note.start + note.duration
        if spans and note.start - spans[-1][1] < gap:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((note.start, end))
    return spans


def _step_back(score: Score, lead: Part | None) -> None:
    """The lead instrument drops out where the voice sings (it answers in the gaps)."""
    if lead is None or not lead.notes:
        return
    spans = [(a - 0.1, b + 0.1) for a, b in sung_spans(lead)]
    for part in score.parts:
        if part.role == "melody":
            part.notes = [n for n in part.notes
                          if not any(n.start < b and n.start + n.duration > a for a, b in spans)]
    score.parts = [p for p in score.parts if p.notes]
