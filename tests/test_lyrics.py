"""Lyrics: parsing and validation, the lyricist, and espeak-ng syllables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunesmith.engines.composer.phonemes import (
    is_vowel,
    phonemize,
    place_syllables,
    split_spelling,
    syllabify_line,
)
from tunesmith.engines.composer.writing.lyricist import (
    MAX_SYLLABLES,
    MIN_SYLLABLES,
    count_syllables,
    detect_theme,
    rhymes,
    word_banks,
    write_lyrics,
)
from tunesmith.engines.composer.writing.lyrics import (
    MAX_LYRICS_CHARS,
    SECTION_TAGS,
    LyricsError,
    normalise_tag,
    parse_lyrics,
    validate_lyrics,
)

ALL_TAGS = ["Intro", "Verse", "Pre Chorus", "Chorus", "Interlude", "Bridge", "Outro",
            "Post Chorus", "Transition", "Break", "Hook", "Build Up", "Inst", "Solo"]


# --- parsing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("tag", ALL_TAGS)
def test_every_contract_tag_is_known(tag: str) -> None:
    name, number, known = normalise_tag(tag)
    assert known and number is None
    assert SECTION_TAGS[name] == tag


@pytest.mark.parametrize(("raw", "expected"), [
    ("pre-chorus", ("pre_chorus", None)), (" Verse 2 ", ("verse", 2)), ("CHORUS", ("chorus", None)),
    ("Pre_Chorus", ("pre_chorus", None)), ("prechorus", ("pre_chorus", None)),
    ("build-up", ("build_up", None)), ("  post   chorus ", ("post_chorus", None)),
])
def test_tags_tolerate_case_spacing_and_dashes(raw: str, expected: tuple[str, int | None]) -> None:
    name, number, known = normalise_tag(raw)
    assert (name, number) == expected and known


def test_sections_lines_pauses_and_backing() -> None:
    lyrics = parse_lyrics(
        "[ Verse 2 ]\nI walk alone (alone)\nthrough the night\n\nand I sing\n"
        "[pre-chorus]\nhold on\n[CHORUS]\nwe are (we are) the light (oh)\n"
    )
    verse, pre, chorus = lyrics.sections
    assert (verse.name, verse.number) == ("verse", 2)
    assert [line.text for line in verse.lines] == ["I walk alone", "through the night", "",
                                                   "and I sing"]
    assert verse.lines[0].backing == ("alone",)
    assert verse.lines[2].pause and not verse.lines[1].pause
    assert pre.name == "pre_chorus" and chorus.name == "chorus"
    assert chorus.lines[0].text == "we are the light"
    assert chorus.lines[0].backing == ("we are", "oh")
    assert len(lyrics.lines) == 5  # pauses are not sung lines


def test_unknown_tag_is_a_section_name_never_sung() -> None:
    lyrics = parse_lyrics("[Verse]\nla la\n[Guitar Riff]\n[Chorus]\nhey")
    names = [s.name for s in lyrics.sections]
    assert names == ["verse", "guitar_riff", "chorus"]
    riff = lyrics.sections[1]
    assert not riff.known and riff.instrumental
    assert all("riff" not in line.text.lower() for line in lyrics.lines)


def test_untagged_text_repeated_stanza_becomes_chorus() -> None:
    text = ("walking down the road\nsun is in my eyes\n\nwe sing it loud\nwe sing it proud\n\n"
            "evening comes around\nstars are in the skies\n\nwe sing it loud\nwe sing it proud")
    sections = parse_lyrics(text).sections
    assert [s.name for s in sections] == ["verse", "chorus", "verse", "chorus"]
    assert [line.text for line in sections[1].lines] == ["we sing it loud", "we sing it proud"]


def test_untagged_single_block_is_cut_into_stanzas() -> None:
    chorus = ["oh oh we fly", "up into the sky", "oh oh we fly", "never say goodbye"]
    rows = ["line one", "line two", "line three", "line four", *chorus, "a", "b", "c", "d", *chorus]
    names = [s.name for s in parse_lyrics("\n".join(rows)).sections]
    assert names == ["verse", "chorus", "verse", "chorus"]


def test_to_text_round_trips() -> None:
    text = ("[Verse 2]\nhello there (oh yeah)\nsecond line\n\nthird line\n\n[Pre Chorus]\npre"
            "\n\n[Inst]")
    lyrics = parse_lyrics(text)
    assert lyrics.to_text() == text
    again = parse_lyrics(lyrics.to_text())
    assert [(s.name, s.number, s.lines) for s in again.sections] == [
        (s.name, s.number, s.lines) for s in lyrics.sections]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab []()\n-Vv2")), max_size=80))
def test_parser_never_crashes_and_keeps_lines_clean(text: str) -> None:
    for line in parse_lyrics(text).lines:
        assert "\n" not in line.text and not line.pause


# --- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "instrumental", "fragment"), [
    ("", False, "empty"),
    ("  \n\t\n ", False, "empty"),
    ("x" * (MAX_LYRICS_CHARS + 1), False, "3500"),
    ("[Verse]\nhello", True, "instrumental"),
    ("[Verse]\n[Chorus]\n\n[Outro]", False, "no line to sing"),
])
def test_validation_errors_say_what_to_fix(text: str, instrumental: bool, fragment: str) -> None:
    with pytest.raises(LyricsError, match=fragment):
        validate_lyrics(text, instrumental)


def test_valid_lyrics_pass() -> None:
    validate_lyrics("[Verse]\nhello world", False)
    validate_lyrics("x" * MAX_LYRICS_CHARS, False)
    validate_lyrics(None, True)
    validate_lyrics("", True)  # an empty field beside an instrumental request is no conflict


# --- lyricist --------------------------------------------------------------------------------

def _sections(text: str) -> list[tuple[str, list[str]]]:
    return [(s.name, [line.text for line in s.lines]) for s in parse_lyrics(text).sections]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_lyricist_song_form_and_verbatim_chorus(seed: int) -> None:
    sections = _sections(write_lyrics("pop song about chasing dreams", seed))
    assert [name for name, _ in sections] == ["verse", "chorus", "verse", "chorus", "bridge",
                                              "chorus"]
    choruses = [lines for name, lines in sections if name == "chorus"]
    assert choruses[0] == choruses[1] == choruses[2] and len(choruses[0]) == 4
    assert sections[0][1] != sections[2][1]  # the second verse is new


@pytest.mark.parametrize("prompt", ["pop song about chasing dreams", "sad breakup ballad",
                                    "neon city nights synthwave", "gospel praise", "some music"])
def test_lyricist_lines_rhyme_in_pairs_and_fit_a_melody(prompt: str) -> None:
    for name, lines in _sections(write_lyrics(prompt, 5)):
        assert len(lines) == 4
        aabb = rhymes(lines[0], lines[1]) and rhymes(lines[2], lines[3])
        abab = rhymes(lines[0], lines[2]) and rhymes(lines[1], lines[3])
        assert aabb or abab, (name, lines)
        for line in lines:
            assert MIN_SYLLABLES <= count_syllables(line) <= MAX_SYLLABLES, line


def test_lyricist_is_deterministic_and_varies_by_seed() -> None:
    prompt = "summer beach party"
    assert write_lyrics(prompt, 11) == write_lyrics(prompt, 11)
    assert len({write_lyrics(prompt, seed) for seed in range(5)}) == 5


def test_lyricist_follows_theme_and_mood() -> None:
    text = write_lyrics("pop song about chasing dreams", 2).lower()
    chorus = _sections(text)[1][1]
    assert "dream" in " ".join(chorus)
    assert detect_theme("pop song about chasing dreams") == "dreams"
    assert detect_theme("lofi beat", mood="sad") == "heartbreak"
    assert detect_theme("a song about my hometown and family") == "home"
    assert detect_theme("instrumental") == "generic"
    sad = write_lyrics("lofi beat", 4, mood="sad").lower()
    assert any(w in sad for w in ("tears", "heart", "alone", "goodbye", "pain", "broken"))


def test_every_rhyme_family_in_the_word_banks_rhymes() -> None:
    for name, theme in word_banks()["themes"].items():
        for family in theme["families"]:
            ends = {e.split()[-1].lower() for e in family}
            assert len(ends) >= 2, (name, family)
            first = family[0]
            others = [e for e in family[1:] if e.split()[-1] != first.split()[-1]]
            assert all(rhymes(first, e) for e in others), (name, family)


def test_rhymes_and_syllable_counts() -> None:
    assert rhymes("into the night", "hold me tight")
    assert rhymes("fly", "sky") and rhymes("heart", "apart")
    assert not rhymes("night", "day") and not rhymes("love", "love")
    assert count_syllables("chasing dreams across the city") == 8
    assert count_syllables("") == 0


# --- phonemes --------------------------------------------------------------------------------

@pytest.mark.parametrize(("word", "count"), [
    ("cat", 1), ("dreams", 1), ("hello", 2), ("chasing", 2), ("beautiful", 3),
    ("tomorrow", 3), ("everything", 3), ("city", 2), ("little", 2), ("celebration", 4),
])
def test_syllable_counts_of_known_words(word: str, count: int) -> None:
    syllables = syllabify_line(word)
    assert len(syllables) == count
    assert "".join(s.text for s in syllables) == word


def test_syllables_carry_stress_nucleus_and_word_context() -> None:
    hello = syllabify_line("hello")
    assert [s.stress for s in hello] == [0, 2]
    assert [s.lyric for s in hello] == ["hel-", "lo"]
    assert hello[1].nucleus == "oU" and hello[0].word == "hello"
    chasing = syllabify_line("chasing")
    assert chasing[0].stress == 2 and chasing[1].stress == 0
    assert all(is_vowel(s.nucleus) for s in syllabify_line("the city lights"))


def test_split_spelling_and_other_languages() -> None:
    assert split_spelling("happy", 2) == ["hap", "py"]
    assert split_spelling("mother", 2) == ["mo", "ther"]
    assert split_spelling("across", 2) == ["a", "cross"]
    assert len(phonemize("bonjour mon ami", "fr")) == 3
    with pytest.raises(ValueError, match="no voice"):
        phonemize("hello", "xx-nonexistent")


def test_place_syllables_puts_stress_on_strong_beats_and_fills_melismas() -> None:
    strong_weak = [1.0, 0.25, 0.5, 0.25]
    assert place_syllables(syllabify_line("chasing dreams"), strong_weak) == [
        "cha-", "sing", "dreams", ""]
    placed = place_syllables(syllabify_line("into the light"), [1.0, 0.2, 0.2, 0.9, 0.3, 0.2])
    assert placed.index("light") == 3 and placed[4:] == ["", ""]
    squeezed = place_syllables(syllabify_line("beautiful everything"), [1.0, 0.5, 1.0])
    assert len(squeezed) == 3 and all(squeezed)
    assert place_syllables(syllabify_line("hi"), []) == []
