"""Sung vocals on real renders: lyrics shape the form, every line is sung on the melody, in
tune; auto-written lyrics keep their structure and rhymes; the API returns what was sung."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import pyworld

from tests.conftest import make_settings
from tests.support.server import running_server
from tunesmith.audio.analysis import analyze_file
from tunesmith.config import BUILTIN_MODEL
from tunesmith.engines.base import EngineInputError, GenerationRequest, no_progress
from tunesmith.engines.composer.engine import ComposerEngine
from tunesmith.engines.composer.phonemes import syllabify_line, words_of
from tunesmith.engines.composer.score import Note, Part, Score
from tunesmith.engines.composer.sound.vocal_stems import render_vocal, sing_part
from tunesmith.engines.composer.writing.arrange import compose
from tunesmith.engines.composer.writing.lyricist import rhymes
from tunesmith.engines.composer.writing.lyrics import parse_lyrics
from tunesmith.engines.composer.writing.melody import metric_strength
from tunesmith.engines.composer.writing.prompt import interpret
from tunesmith.engines.composer.writing.song import (
    BACKING,
    HARMONY,
    LEAD,
    Song,
    choose_voice,
    compose_song,
    sung_spans,
)
from tunesmith.engines.composer.writing.song_form import fit_lyrics
from tunesmith.engines.registry import COMPOSER

SR = 44100
CONTRACT_PROMPT = "upbeat pop with piano"
CONTRACT_LYRICS = ("Sunshine in the morning\nBrightens up my day\nEvery step I'm taking\n"
                   "Leads me on my way")
TAGGED = """[Intro]

[Verse]
Walking down the river road
Carry all the things I know
(oh oh)

Every light is turning gold

[Pre Chorus]
Hold on, hold on

[Chorus]
We are the fire in the night
We are the spark that makes it right

[Guitar Riff]

[Bridge]
Slow it down and let it go

[Outro]"""


def _part(score: Score, name: str) -> Part | None:
    return next((p for p in score.parts if p.name == name), None)


def _lead(score: Score) -> Part:
    part = _part(score, LEAD)
    assert part is not None and part.notes
    return part


def _sung_words(notes: list[Note]) -> list[str]:
    """The words a part sings: syllables joined where a lyric ends with "-"."""
    text = ""
    for note in sorted(notes, key=lambda n: n.start):
        lyric = (note.lyric or "").strip()
        if lyric:
            text += lyric[:-1] if lyric.endswith("-") else lyric + " "
    return [w.lower() for w in words_of(text)]


def _contains_in_order(sung: list[str], lines: list[str]) -> bool:
    at = 0
    for line in lines:
        words = [w.lower() for w in words_of(line)]
        while at + len(words) <= len(sung) and sung[at:at + len(words)] != words:
            at += 1
        if at + len(words) > len(sung):
            return False
        at += len(words)
    return True


@pytest.fixture(scope="module")
def contract() -> tuple[Score, Song]:
    return compose_song(interpret(CONTRACT_PROMPT), 30.0, 1, CONTRACT_LYRICS)


@pytest.fixture(scope="module")
def tagged() -> tuple[Score, Song]:
    return compose_song(interpret("pop song, female vocals"), 60.0, 3, TAGGED)


@pytest.fixture(scope="module")
def written() -> tuple[Score, Song]:
    return compose_song(interpret("pop song about chasing dreams"), 100.0, 1)


# ------------------------------------------------------------------------- in tune ---
def _pitch_accuracy(audio: np.ndarray, notes: list[Note]) -> tuple[float, int]:
    """Share of voiced frames (WORLD dio + stonemask) within 50 cents of the sounding note."""
    x = audio.astype(np.float64)
    f0, times = pyworld.dio(x, SR, f0_floor=70.0, f0_ceil=1000.0, frame_period=5.0)
    f0 = pyworld.stonemask(x, f0, times, SR)
    ordered = sorted(notes, key=lambda n: n.start)
    starts = np.array([n.start for n in ordered])
    hits = total = 0
    for f, t in zip(f0, times, strict=True):
        i = int(np.searchsorted(starts, t, side="right")) - 1
        if f <= 0 or i < 0 or t >= ordered[i].start + ordered[i].duration:
            continue
        total += 1
        hits += abs(1200 * np.log2(f / (440.0 * 2 ** ((ordered[i].pitch - 69) / 12)))) < 50
    return hits / max(total, 1), total


@pytest.mark.parametrize("prompt", ["upbeat pop with piano", "blues with male vocals"])
def test_the_vocal_stem_sings_the_melody_in_tune(prompt: str) -> None:
    score, _ = compose_song(interpret(prompt), 20.0, 2, CONTRACT_LYRICS)
    lead = _lead(score)
    accuracy, frames = _pitch_accuracy(sing_part(lead, score, seed=2), lead.notes)
    assert frames > 800
    assert accuracy >= 0.9, accuracy


# ---------------------------------------------------------------------- the words ---
def test_every_line_of_the_contract_example_is_sung_in_order(contract: tuple[Score, Song]) -> None:
    score, song = contract
    lines = CONTRACT_LYRICS.splitlines()
    assert _contains_in_order(_sung_words(_lead(score).notes), lines)
    assert song.lyrics == CONTRACT_LYRICS  # all of it fitted: returned as given
    assert not song.form.truncated and song.form.lines_sung == 4


def test_every_tagged_line_is_sung_and_tags_shape_the_form(tagged: tuple[Score, Song]) -> None:
    score, _ = tagged
    lyrics = parse_lyrics(TAGGED)
    assert _contains_in_order(_sung_words(_lead(score).notes), [x.text for x in lyrics.lines])
    kinds = [s.name for s in score.sections]
    # the tags in order: intro, verse, pre-chorus, chorus, the unknown riff (an instrumental
    # section), bridge, outro; fillers may only be instrumental sections
    assert [k for k in kinds if k not in ("solo", "breakdown", "build")] == \
        ["intro", "verse", "pre_chorus", "chorus", "bridge", "outro"]
    assert "solo" in kinds[kinds.index("chorus"):kinds.index("bridge")]
    assert score.sections[-1].end == pytest.approx(60.0)
    assert sum(s.end - s.start for s in score.sections) == pytest.approx(60.0)


def test_unknown_tags_are_never_sung(tagged: tuple[Score, Song]) -> None:
    score, _ = tagged
    for part in score.parts:
        assert "riff" not in _sung_words(part.notes) and "guitar" not in _sung_words(part.notes)


def test_backing_vocals_and_pauses(tagged: tuple[Score, Song]) -> None:
    score, _ = tagged
    backing = _part(score, BACKING)
    assert backing is not None and _sung_words(backing.notes) == ["oh", "oh"]
    assert "oh" not in _sung_words(_lead(score).notes)
    spans = sung_spans(_lead(score))
    lead_words = _sung_words(_lead(score).notes)
    assert "gold" in lead_words
    # the blank line before "Every light is turning gold" rests a bar more than a line break
    bar = 4 * 60.0 / score.bpm
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(spans)]
    verse = next(s for s in score.sections if s.name == "verse")
    verse_gaps = [g for g, (a, _) in zip(gaps, spans[1:], strict=False)
                  if verse.start < a < verse.end]
    assert max(verse_gaps) > min(verse_gaps) + 0.9 * bar


def test_stressed_syllables_land_on_beats(contract: tuple[Score, Song]) -> None:
    score, _ = contract
    syllables = [s for line in CONTRACT_LYRICS.splitlines() for s in syllabify_line(line)]
    sung = [n for n in sorted(_lead(score).notes, key=lambda n: n.start) if n.lyric]
    assert len(sung) == len(syllables)
    beat = 60.0 / score.bpm
    on_beat = [metric_strength(round(n.start / beat * 4) / 4, 4.0) >= 0.5 for n in sung]
    stressed = [hit for hit, s in zip(on_beat, syllables, strict=True)
                if s.stress == 2 and s.count > 1]
    unstressed = [hit for hit, s in zip(on_beat, syllables, strict=True) if s.stress == 0]
    assert stressed and sum(stressed) / len(stressed) >= 0.75
    assert sum(stressed) / len(stressed) > sum(unstressed) / max(1, len(unstressed))


def test_melismas_hold_a_syllable_over_several_notes(written: tuple[Score, Song]) -> None:
    notes = _lead(written[0]).notes
    assert any(n.lyric == "" for n in notes)
    assert notes[0].lyric  # a line never starts on a held note


# ----------------------------------------------------------------- fitting the time ---
def test_lyrics_too_long_are_sung_in_order_as_far_as_they_fit() -> None:
    long_lyrics = "\n".join(f"[Verse {i}]\nline number {i} goes on and on\nand then it "
                            f"rhymes with {i} once more" for i in range(1, 13))
    score, song = compose_song(interpret("pop"), 20.0, 1, long_lyrics)
    assert song.form.truncated and 0 < song.form.lines_sung < song.form.lines_given
    assert song.lyrics.startswith("[Verse 1]\nline number 1")
    assert len(parse_lyrics(song.lyrics).lines) == song.form.lines_sung
    assert _contains_in_order(_sung_words(_lead(score).notes),
                              [x.text for x in parse_lyrics(song.lyrics).lines])
    plan = song.plan(score)
    assert plan["truncated"] and "duration_seconds" in plan["note"]
    assert score.sections[-1].end == pytest.approx(20.0)


@pytest.mark.parametrize("bars", [1, 2, 3, 4, 7, 15, 40, 90])
def test_the_form_from_tags_always_fills_the_bars_and_sings_the_first_line(bars: int) -> None:
    form = fit_lyrics(parse_lyrics(TAGGED), bars, bar_seconds=2.0)
    assert sum(s.bars for s in form.sections) == bars
    sung = [line.text for s in form.sections for line in s.lines if not line.pause]
    assert sung and sung[0] == "Walking down the river road"
    everything = [line.text for line in parse_lyrics(TAGGED).lines]
    assert sung == everything[:len(sung)]  # in order, nothing skipped
    assert form.truncated == (len(sung) < len(everything))


def test_short_lyrics_are_filled_with_instrumental_sections() -> None:
    score, song = compose_song(interpret("pop"), 90.0, 1, "la la la la\nna na na na")
    names = [s.name for s in score.sections]
    assert names[0] == "intro" and names[-1] == "outro"
    assert sum(1 for s in song.form.sections if s.sung) == 1
    assert any(n in names for n in ("solo", "breakdown", "build"))
    assert score.sections[-1].end == pytest.approx(90.0)


def test_a_repeated_stanza_is_a_lifted_chorus() -> None:
    text = "one two three\nfour five six\n\nsing it loud\nsing it proud\n\nseven eight nine\n" \
           "ten eleven twelve\n\nsing it loud\nsing it proud"
    score, _ = compose_song(interpret("pop"), 60.0, 1, text)
    assert [s.name for s in score.sections if s.name in ("verse", "chorus")] == \
        ["verse", "chorus", "verse", "chorus"]
    harmony = _part(score, HARMONY)
    assert harmony is not None and _sung_words(harmony.notes).count("loud") == 2


# ---------------------------------------------------------------- voice and arrangement ---
def test_the_prompt_chooses_the_voice_and_the_range_fits_it() -> None:
    assert choose_voice("soulful r&b, female vocals", "soul") == "female"
    assert choose_voice("pop with male vocals", "pop") == "male"
    assert choose_voice("gospel choir praise", "pop") == "choir"
    assert choose_voice("hard rock anthem", "rock") == "male"
    assert choose_voice("pop song", "pop") == "female"
    score, song = compose_song(interpret("pop with male vocals"), 20.0, 1, CONTRACT_LYRICS)
    assert song.voice == "male"
    pitches = [n.pitch for n in _lead(score).notes]
    assert min(pitches) >= 45 and max(pitches) <= 67


def test_the_lead_instrument_steps_back_where_the_voice_sings(
        contract: tuple[Score, Song]) -> None:
    score, _ = contract
    spans = sung_spans(_lead(score))
    melody = _part(score, "melody")
    for note in melody.notes if melody else []:
        assert not any(note.start < b and note.start + note.duration > a for a, b in spans)
    instrumental = compose(interpret(CONTRACT_PROMPT), 30.0, 1)
    assert sum(len(p.notes) for p in instrumental.parts if p.role == "melody") > \
        sum(len(p.notes) for p in score.parts if p.role == "melody")


def test_choruses_are_doubled_and_harmonised(written: tuple[Score, Song]) -> None:
    score, _ = written
    harmony = _part(score, HARMONY)
    assert harmony is not None
    choruses = [s for s in score.sections if s.name == "chorus"]
    assert choruses and all(any(c.start <= n.start < c.end for c in choruses)
                            for n in harmony.notes)
    lead = {(round(n.start, 3), n.lyric) for n in _lead(score).notes}
    assert all((round(n.start, 3), n.lyric) in lead for n in harmony.notes)


def test_the_lead_is_double_tracked_left_and_right_only_in_choruses() -> None:
    score, _ = compose_song(interpret("pop song about chasing dreams"), 30.0, 1)
    rendered = render_vocal(_lead(score), score, seed=1)
    stem = np.zeros((2, round(30.0 * SR)), np.float32)
    for start, key, _ in rendered.events:
        sound = rendered.sounds[key]
        stem[:, start:start + sound.shape[1]] += sound[:, : stem.shape[1] - start]
    side = np.abs(stem[0] - stem[1])
    for section in score.sections:
        span = side[round(section.start * SR):round(section.end * SR)]
        if section.name == "chorus":
            assert span.max() > 0.01
        elif section.name == "verse":
            assert span.max() < 1e-6


# ------------------------------------------------------------------ written lyrics ---
def test_written_lyrics_have_the_structure_and_rhymes_they_claim(
        written: tuple[Score, Song]) -> None:
    score, song = written
    sections = parse_lyrics(song.lyrics).sections
    assert song.written and sections and all(s.known for s in sections)
    choruses = [[x.text for x in s.lines] for s in sections if s.name == "chorus"]
    assert len(choruses) >= 2
    longest = max(choruses, key=len)
    assert all(c == longest[:len(c)] for c in choruses)  # a chorus comes back verbatim
    for section in sections:
        lines = [x.text for x in section.lines]
        assert len(lines) in (1, 2) or len(lines) % 2 == 0
        if len(lines) == 2:
            assert rhymes(*lines), lines
        if len(lines) >= 4:
            aabb = rhymes(lines[0], lines[1]) and rhymes(lines[2], lines[3])
            abab = rhymes(lines[0], lines[2]) and rhymes(lines[1], lines[3])
            assert aabb or abab, lines
    assert _contains_in_order(_sung_words(_lead(score).notes),
                              [x.text for x in parse_lyrics(song.lyrics).lines])
    assert "dream" in song.lyrics.lower()


def test_written_lyrics_vary_by_seed() -> None:
    spec = interpret("pop song about chasing dreams")
    first = compose_song(spec, 30.0, 1)[1].lyrics
    assert compose_song(spec, 30.0, 1)[1].lyrics == first
    assert compose_song(spec, 30.0, 2)[1].lyrics != first


# ------------------------------------------------------------------------ the engine ---
def _generate(tmp_path: Path, **fields: object) -> tuple[object, Path]:
    request = GenerationRequest(prompt=str(fields.pop("prompt")), model=BUILTIN_MODEL,
                                **fields)  # type: ignore[arg-type]
    track = ComposerEngine().generate(request, no_progress, tmp_path)
    return track, track.path


def test_a_song_with_vocals_is_mastered_and_returns_its_lyrics(tmp_path: Path) -> None:
    track, path = _generate(tmp_path, prompt=CONTRACT_PROMPT, lyrics=CONTRACT_LYRICS,
                            duration_seconds=12, seed=4)
    assert track.lyrics and track.plan["vocal"]["voice"] == "female"  # type: ignore[attr-defined]
    assert "female_vocals" in track.plan["instruments"]  # type: ignore[attr-defined]
    measured = analyze_file(path)
    assert abs(measured.duration_seconds - 12.0) <= 0.5
    assert abs(measured.integrated_lufs + 14.0) <= 1.5
    assert measured.true_peak_dbtp <= -0.9


def test_instrumental_requests_have_no_vocals(tmp_path: Path) -> None:
    track, _ = _generate(tmp_path, prompt=CONTRACT_PROMPT, instrumental=True,
                         duration_seconds=6, seed=4)
    assert track.lyrics is None and "vocal" not in track.plan  # type: ignore[attr-defined]
    assert not any(i.endswith("_vocals") for i in track.plan["instruments"])  # type: ignore
    assert not any(p.role == "vocal" for p in compose(interpret("pop"), 10.0, 1).parts)


def test_unsingable_lyrics_are_the_callers_to_fix(tmp_path: Path) -> None:
    with pytest.raises(EngineInputError, match="no line to sing"):
        _generate(tmp_path, prompt="pop", lyrics="[Verse]\n[Chorus]", duration_seconds=6)


def test_the_composer_lists_lyrics_support() -> None:
    assert COMPOSER.capabilities.lyrics and COMPOSER.capabilities.instrumental


# --------------------------------------------------------------------------- the API ---
@pytest.fixture(scope="module")
def composer_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("vocal-api"), workers=1,
                             default_model=BUILTIN_MODEL, engine_plugins=[],
                             sync_wait_seconds=60.0)
    with running_server(settings) as base:
        yield base


def test_the_contracts_lyrics_example_comes_back_with_its_lyrics(composer_url: str) -> None:
    r = httpx.post(f"{composer_url}/v1/audio/generations", timeout=90, json={
        "model": BUILTIN_MODEL, "prompt": CONTRACT_PROMPT, "lyrics": CONTRACT_LYRICS,
        "instrumental": False, "duration_seconds": 20, "seed": 5})
    assert r.status_code == 200, r.text
    item = r.json()["data"][0]
    assert item["lyrics"] == CONTRACT_LYRICS
    assert item["duration_seconds"] == 20
    assert item["vocal"]["voice"] == "female" and item["vocal"]["lines_sung"] >= 1
    assert httpx.get(item["url"]).headers["content-type"] == "audio/mpeg"


@pytest.mark.parametrize(("body", "message"), [
    ({"lyrics": "la la", "instrumental": True}, "instrumental"),
    ({"lyrics": "  \n "}, "empty"),
    ({"lyrics": "la " * 1200}, "3500"),
])
def test_bad_lyrics_get_400_with_a_clear_message(composer_url: str, body: dict[str, object],
                                                 message: str) -> None:
    r = httpx.post(f"{composer_url}/v1/audio/generations", timeout=30,
                   json={"model": BUILTIN_MODEL, "prompt": "pop", **body})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "lyrics" and message in r.json()["error"]["message"]


def test_models_list_the_composer_as_singing(composer_url: str) -> None:
    models = httpx.get(f"{composer_url}/v1/audio/models").json()["data"]
    composer = next(m for m in models if m["id"] == BUILTIN_MODEL)
    assert composer["supports_lyrics"] and composer["supports_instrumental"]
