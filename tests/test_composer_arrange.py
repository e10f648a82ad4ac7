"""Composing scores: exact form timing, harmony, melody, parts, feel, determinism, speed."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunesmith.engines.composer.score import GM_DRUMS, INSTRUMENTS, Score
from tunesmith.engines.composer.writing.arrange import compose
from tunesmith.engines.composer.writing.feel import swing_beat
from tunesmith.engines.composer.writing.form import fit_tempo, plan_sections
from tunesmith.engines.composer.writing.harmony import ChordEvent, Harmony, parse_bars
from tunesmith.engines.composer.writing.melody import Slot, make_melody
from tunesmith.engines.composer.writing.prompt import interpret
from tunesmith.engines.composer.writing.styles import get_style, load_data, style_names
from tunesmith.engines.composer.writing.theory import (
    chord_scale,
    diatonic_chord,
    parse_numeral,
    pitch_class,
    scale_pitch_classes,
    voice_chord,
)

DURATIONS = (5, 7, 13, 30, 61, 180, 240)
PROMPTS = (
    "upbeat pop with piano and synth bass, energetic chorus",
    "jazz trio, upright bass, brushed snare, bebop swing",
    "deep house",
    "120 BPM, danceable, happy summer vibes",
    "dark ambient drone, slow evolving pads, cinematic tension",
    "folk waltz in 3/4",
)


def check_invariants(score: Score, duration: float) -> None:
    """What every score must satisfy, whatever the prompt."""
    assert score.duration == duration
    assert score.sections[0].start == 0.0
    assert score.sections[-1].end == duration
    for before, after in zip(score.sections, score.sections[1:], strict=False):
        assert before.end == after.start and before.start < before.end
    assert score.parts
    for part in score.parts:
        assert part.instrument in INSTRUMENTS
        assert part.notes
        for note in part.notes:
            assert 0.0 <= note.start < duration
            assert note.duration > 0 and note.start + note.duration <= duration + 1e-9
            assert 1 <= note.velocity <= 127
            if part.role == "drums":
                assert note.pitch in set(GM_DRUMS.values())
            else:
                assert 0 <= note.pitch <= 127
    for cue in score.cues:
        assert 0.0 <= cue.start < cue.end <= duration


def melody_notes(score: Score) -> list[int]:
    return [n.pitch for p in score.parts if p.role == "melody" for n in p.notes]


def diatonic_share(score: Score) -> float:
    pcs = set(scale_pitch_classes(pitch_class(score.key), score.mode))
    pitches = melody_notes(score)
    return sum(p % 12 in pcs for p in pitches) / len(pitches)


# ---------------------------------------------------------------------- exact form ---
@pytest.mark.parametrize("duration", DURATIONS)
@pytest.mark.parametrize("prompt", PROMPTS)
def test_sections_tile_the_duration_and_notes_end_in_time(prompt: str, duration: int) -> None:
    check_invariants(compose(interpret(prompt), duration=float(duration), seed=3),
                     float(duration))


@pytest.mark.parametrize("style", style_names())
def test_every_style_composes_a_full_song(style: str) -> None:
    score = compose(interpret(style.replace("_", " ")), duration=180.0, seed=11)
    check_invariants(score, 180.0)
    names = [s.name for s in score.sections]
    assert names[0] == "intro" and names[-1] == "outro" and len(names) >= 4
    assert {"chorus", "drop", "verse", "solo"} & set(names)
    assert len({s.name for s in score.sections}) >= 3


def test_long_pop_song_has_a_real_form() -> None:
    names = [s.name for s in compose(interpret("pop"), duration=180.0, seed=1).sections]
    assert names[0] == "intro" and names[-1] == "outro"
    assert names.count("chorus") >= 3 and names.count("verse") >= 2
    assert "pre_chorus" in names and "bridge" in names


def test_dance_music_builds_and_drops() -> None:
    score = compose(interpret("trance"), duration=240.0, seed=2)
    names = [s.name for s in score.sections]
    assert "breakdown" in names and "build" in names and "drop" in names
    drops = [s for s in score.sections if s.name == "drop"]
    assert max(s.energy for s in score.sections) == max(s.energy for s in drops)
    kinds = {(c.kind, round(c.end, 3)) for c in score.cues}
    for drop in drops:
        assert ("riser", round(drop.start, 3)) in kinds  # a riser ends where the drop lands
    assert any(c.kind == "impact" and abs(c.start - drops[0].start) < 1e-6 for c in score.cues)


@pytest.mark.parametrize("duration", (5, 7, 13))
def test_short_tracks_get_a_short_coherent_form(duration: int) -> None:
    score = compose(interpret("upbeat pop"), duration=float(duration), seed=4)
    assert score.sections[-1].name == "outro"
    assert len(score.sections) <= 3
    assert melody_notes(score) or duration <= 7


def test_tempo_bends_only_inside_the_style_range() -> None:
    low, high = get_style("house").bpm
    for duration in (30, 61, 97, 180, 240):
        score = compose(interpret("house"), duration=float(duration), seed=0)
        assert low * 0.94 <= score.bpm <= high * 1.06
        bar = 4 * 60.0 / score.bpm
        assert sum(s.bars for s in score.sections) * bar == pytest.approx(duration)


@pytest.mark.parametrize("duration", (7, 30, 61, 200))
def test_explicit_bpm_is_exact_and_the_last_chord_fills_the_rest(duration: int) -> None:
    score = compose(interpret("120 BPM, danceable, happy summer vibes"), float(duration), 5)
    assert score.bpm == 120.0
    check_invariants(score, float(duration))
    last_end = max(n.start + n.duration for p in score.parts for n in p.notes)
    assert last_end > duration - 1.0


def test_fit_tempo_and_plan_sections_agree() -> None:
    for duration in range(5, 241, 7):
        timeline = fit_tempo(float(duration), 118.0, False, 4.0, (100.0, 130.0))
        assert timeline.total_beats * 60.0 / timeline.bpm == pytest.approx(duration)
        for form in load_data("forms")["forms"]:
            plans = plan_sections(form, timeline.bars, 0.6)
            assert sum(p.bars for p in plans) == timeline.bars
            assert all(p.bars >= 1 and 0.0 < p.energy <= 1.0 for p in plans)


# ------------------------------------------------------------------------- endings ---
def test_the_piece_ends_on_a_held_tonic() -> None:
    for prompt in ("pop", "jazz trio", "metal", "classical piano in F# minor", "blues"):
        score = compose(interpret(prompt), duration=45.0, seed=9)
        tonic = pitch_class(score.key)
        last_bar = score.sections[-1].end - 4 * 60.0 / score.bpm * 0.99
        for part in score.parts:
            if part.role in ("bass", "chords"):
                held = [n for n in part.notes if n.start >= last_bar - 0.1]
                assert held, (prompt, part.role)
                assert held[-1].start + held[-1].duration > score.duration - 1.0
                lowest = min(held, key=lambda n: n.pitch)
                assert lowest.pitch % 12 == tonic, (prompt, part.role)


# ---------------------------------------------------------------- harmony, melody ---
def test_roman_numerals() -> None:
    c = pitch_class("C")
    assert parse_numeral("V7", c).tones == (7, 11, 2, 5)
    assert parse_numeral("ii7", c).tones == (2, 5, 9, 0)
    assert parse_numeral("bVII", c).tones == (10, 2, 5)
    assert parse_numeral("Imaj7", pitch_class("D")).tones == (2, 6, 9, 1)
    assert parse_numeral("iiø7", c).tones == (2, 5, 8, 0)
    assert diatonic_chord("III", pitch_class("A"), "minor").tones == (0, 4, 7)
    assert parse_bars("ii7 V7 | Imaj7") == [["ii7", "V7"], ["Imaj7"]]


def test_every_progression_in_the_library_parses() -> None:
    for style in style_names():
        spec = get_style(style)
        tables = list(spec.progressions.values())
        for table in tables:
            for progressions in table.values():
                for progression in progressions:
                    for bar in parse_bars(progression):
                        for symbol in bar:
                            parse_numeral(symbol, 0)


def test_voice_leading_moves_little() -> None:
    c, f, g = (parse_numeral(s, 0) for s in ("I", "IV", "V"))
    first = voice_chord(c, None, 52, 76)
    second = voice_chord(f, first, 52, 76)
    third = voice_chord(g, second, 52, 76)
    assert {p % 12 for p in second} == set(f.tones)
    for before, after in ((first, second), (second, third)):
        assert sum(abs(a - b) for a, b in zip(sorted(before), sorted(after), strict=True)) <= 8


def test_make_melody_follows_the_harmony_for_any_rhythm() -> None:
    """The reusable entry point a lyric setter calls: one pitch per slot, chord tones on
    strong slots, inside the range, landing on the root when asked to close."""
    tonic = pitch_class("G")
    events = [ChordEvent(0.0, 4.0, parse_numeral("I", tonic), 0),
              ChordEvent(4.0, 8.0, parse_numeral("IV", tonic), 0),
              ChordEvent(8.0, 12.0, parse_numeral("V7", tonic), 0),
              ChordEvent(12.0, 16.0, parse_numeral("I", tonic), 0)]
    harmony = Harmony(events)
    rng = random.Random(3)
    slots = [Slot(b * 0.5, 0.5, strong=b % 4 == 0) for b in range(31)] + [Slot(15.5, 0.5)]
    notes = make_melody(harmony, slots, rng, (60, 79), tonic, "major",
                        cadences={len(slots) - 1: True})
    assert [n.start for n in notes] == [s.start for s in slots]
    assert all(60 <= n.pitch <= 79 for n in notes)
    for note, slot in zip(notes, slots, strict=True):
        if slot.strong:
            assert note.pitch % 12 in harmony.at(slot.start).chord.tones
    assert notes[-1].pitch % 12 == tonic
    scale = chord_scale(events[0].chord, scale_pitch_classes(tonic, "major"))
    assert sum(n.pitch % 12 in scale for n in notes) >= 0.8 * len(notes)


@pytest.mark.parametrize("prompt", ["pop", "synthwave", "jazz", "blues", "metal",
                                    "bossa nova", "celtic folk", "sad pop"])
def test_melody_stays_in_key(prompt: str) -> None:
    score = compose(interpret(prompt), duration=60.0, seed=21)
    assert len(melody_notes(score)) >= 16
    assert diatonic_share(score) >= 0.7


def test_melody_repeats_its_motif_and_peaks_in_the_chorus() -> None:
    score = compose(interpret("pop"), duration=120.0, seed=8)
    melody = next(p for p in score.parts if p.role == "melody")
    choruses = [s for s in score.sections if s.name == "chorus"]
    verses = [s for s in score.sections if s.name == "verse"]

    sixteenth = 60.0 / score.bpm / 4

    def rhythm(section):  # onsets of the first two bars, on the 16th grid from the section
        return [round((n.start - section.start) / sixteenth) for n in melody.notes
                if section.start - 0.05 <= n.start < section.start + 31.5 * sixteenth]

    assert rhythm(choruses[0]) == rhythm(choruses[1])  # the hook comes back
    assert rhythm(choruses[0]) != rhythm(verses[0])
    def top(section: Any) -> int:
        return max(n.pitch for n in melody.notes if section.start <= n.start < section.end)

    top_chorus, top_verse = top(choruses[0]), top(verses[0])
    assert top_chorus >= top_verse


def test_blues_uses_the_twelve_bar_form() -> None:
    verse = get_style("blues").progressions["major"]["verse"][0]
    bars = [b[0] for b in parse_bars(verse)]
    assert len(bars) == 12 and bars[0] == bars[2] == "I7" and bars[4] == "IV7"
    assert bars[8] == "V7"


def test_jazz_walks_and_swings() -> None:
    score = compose(interpret("jazz trio, upright bass, brushed snare, bebop swing"), 60.0, 1)
    assert {p.instrument for p in score.parts} == {"piano", "upright_bass", "kit_brush"}
    bass = next(p for p in score.parts if p.role == "bass")
    beat = 60.0 / score.bpm
    body = [n for n in bass.notes if n.start < score.sections[-1].start]
    on_beat = sum(abs(n.start / beat - round(n.start / beat)) < 0.12 for n in body)
    assert on_beat >= 0.9 * len(body) and len(body) >= 0.8 * score.sections[-1].start / beat
    assert len({n.pitch for n in body}) >= 8  # a walking line, not a pedal
    assert score.swing >= 0.5
    assert swing_beat(0.5, 1.0) == pytest.approx(2 / 3)


# ------------------------------------------------------------------ parts and mix ---
def test_no_drums_and_solo_piano() -> None:
    assert all(p.role != "drums" for p in compose(interpret("rock, no drums"), 30.0, 1).parts)
    solo = compose(interpret("slow and melancholic, solo piano, minor key"), 30.0, 1)
    assert {p.instrument for p in solo.parts} == {"piano"}
    assert solo.mode == "minor"


def test_styles_set_their_groove_and_mix() -> None:
    house = compose(interpret("house"), 60.0, 1)
    kick = GM_DRUMS["kick"]
    drums = next(p for p in house.parts if p.role == "drums")
    beat = 60.0 / house.bpm
    kicks = [n.start / beat for n in drums.notes if n.pitch == kick]
    assert sum(abs(k - round(k)) < 0.05 for k in kicks) >= 0.9 * len(kicks)  # four on the floor
    assert any(p.sidechain for p in house.parts if p.role in ("pad", "bass"))
    assert house.production.sidechain > 0
    trap = compose(interpret("trap"), 60.0, 1)
    bass = next(p for p in trap.parts if p.role == "bass")
    assert bass.instrument == "bass_808"
    dnb = compose(interpret("drum and bass"), 30.0, 1)
    assert dnb.bpm >= 165


def test_sections_change_the_density() -> None:
    score = compose(interpret("upbeat pop"), 180.0, 3)

    def playing(section):  # roles with notes inside the section (humanised edges aside)
        return {p.role for p in score.parts
                if any(section.start + 0.05 <= n.start < section.end - 0.05 for n in p.notes)}

    intro = playing(score.sections[0])
    chorus = playing(next(s for s in score.sections if s.name == "chorus"))
    assert len(chorus) > len(intro) and "melody" in chorus and "melody" not in intro


def test_meters_other_than_four() -> None:
    for prompt, meter in (("folk waltz", (3, 4)), ("celtic jig", (6, 8))):
        score = compose(interpret(prompt), 40.0, 2)
        assert score.time_signature == meter
        check_invariants(score, 40.0)


def test_lofi_production() -> None:
    score = compose(interpret("chill lo-fi hip hop, late night study vibes"), 30.0, 1)
    assert score.production.vinyl > 0 and score.production.lofi > 0
    assert score.swing > 0 and score.production.brightness < 0


# ------------------------------------------------------------------- determinism ---
def test_same_seed_same_score_and_other_seeds_differ() -> None:
    spec = interpret("upbeat pop with piano and synth bass, energetic chorus")
    assert compose(spec, 45.0, 123) == compose(spec, 45.0, 123)
    scores = [compose(spec, 45.0, seed) for seed in range(6)]
    melodies = {tuple(melody_notes(s)) for s in scores}
    assert len(melodies) == 6
    chords = {tuple(n.pitch % 12 for p in s.parts if p.role == "chords" for n in p.notes[:24])
              for s in scores}
    assert len(chords) >= 4


def test_explicit_key_is_used() -> None:
    score = compose(interpret("pop in F# minor"), 30.0, 77)
    assert (score.key, score.mode) == ("F#", "minor")
    assert diatonic_share(score) >= 0.7


def test_compose_is_fast() -> None:
    spec = interpret("metal")  # the busiest style: 16th-note double kicks
    compose(spec, 240.0, 0)
    best = min(_timed(lambda: compose(spec, 240.0, 1)) for _ in range(3))
    assert best < 0.3


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


_WORDS = ["pop", "jazz", "trap", "ambient", "no drums", "solo piano", "in F# minor", "waltz",
          "6/8", "90 bpm", "slow", "fast", "dark", "lo-fi", "shuffle", "half-time", "strings",
          "edm", "bossa nova", "blues", "metal", "upright bass", "sax", "just flute"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=8)), max_size=6),
       st.integers(5, 240), st.integers(0, 2**31 - 1))
def test_compose_never_fails(words: list[str], duration: int, seed: int) -> None:
    check_invariants(compose(interpret(" ".join(words)), float(duration), seed), float(duration))


# -------------------------------------------------------------------- the data files ---
def _raw_tables() -> list[dict]:
    """Every style and substyle table as written in styles.toml."""
    raw = load_data("styles")
    tables = [raw["defaults"]]
    for style in raw["styles"].values():
        tables.append(style)
        tables += list(style.get("substyles", {}).values())
    return tables


def test_style_data_names_only_known_instruments_and_patterns() -> None:
    grooves = load_data("grooves")
    for table in _raw_tables():
        for instrument in table.get("ensemble", {}).values():
            assert instrument == "" or instrument in INSTRUMENTS, instrument
        for kind, section in (("drums", "drums"), ("bass", "bass"), ("comp", "comp")):
            names = table.get(kind, {})
            for name in (names.values() if isinstance(names, dict) else [names]):
                assert name == "" or name in grooves[section], (kind, name)
        for name in (table.get("arp"), table.get("pad")):
            assert name is None or name in grooves["comp"], name
        assert table.get("fill", "") in ("", *grooves["fills"])


def test_groove_data_is_well_formed() -> None:
    grooves = load_data("grooves")
    for kind in ("drums", "fills"):
        for pattern in grooves[kind].values():
            for drum, line in pattern.items():
                assert drum in GM_DRUMS, drum
                assert len(line) in (8, 12, 16, 32) and set(line) <= set("Xxor."), line
    for line in grooves["bass"].values():
        assert line in ("walk", "kick") or set(line) <= set("R35678A-.")
    for line in grooves["comp"].values():
        assert len(line) in (12, 16, 32) and set(line) <= set("CLU01234-.")


def test_power3_stacks_the_chords_own_third_over_a_power_chord() -> None:
    from tunesmith.engines.composer.writing.harmony import Voicer

    for numeral, third in (("i", 3), ("bII", 4)):
        event = ChordEvent(0.0, 4.0, parse_numeral(numeral, 11), 0)  # in B
        root, fifth, octave, top = Voicer().voice(event, 40, 64, "power3")
        assert (fifth - root, octave - root, top - octave) == (7, 12, third)
        assert root % 12 == event.chord.root and 40 <= root <= 64
        assert Voicer().voice(event, 40, 64, "power") == (root, fifth, octave)
