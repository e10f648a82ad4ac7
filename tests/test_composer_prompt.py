"""Reading prompts into style specs: genres, aliases, tempo, key, feel, instruments, hints."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunesmith.engines.composer.score import INSTRUMENTS, Production
from tunesmith.engines.composer.writing.prompt import StyleSpec, interpret
from tunesmith.engines.composer.writing.styles import (
    get_style,
    load_data,
    style_names,
    substyle_names,
    vocabulary,
)
from tunesmith.engines.composer.writing.theory import MODES, mode_family

# Every style the product promises, by a plain prompt and by its well-known aliases.
PLAIN_PROMPTS = {
    "pop": ["a pop song", "catchy radio pop"],
    "synthwave": ["synthwave", "retrowave night drive", "outrun"],
    "lofi": ["lofi hip hop", "study beats", "chillhop"],
    "hip_hop": ["hip hop beat", "boom bap", "trap", "rap instrumental"],
    "house": ["house music", "deep house", "edm banger"],
    "techno": ["techno", "berlin techno", "acid techno"],
    "trance": ["uplifting trance", "psytrance"],
    "drum_and_bass": ["drum and bass", "dnb", "drum & bass", "jungle"],
    "dubstep": ["dubstep", "brostep"],
    "ambient": ["ambient", "drone", "dark ambient"],
    "cinematic": ["cinematic", "orchestral", "film score", "movie soundtrack"],
    "classical_piano": ["classical piano", "nocturne"],
    "jazz": ["jazz", "jazz trio", "big band swing", "bebop"],
    "blues": ["blues", "12 bar blues"],
    "rock": ["rock", "classic rock", "indie rock"],
    "metal": ["heavy metal", "thrash metal", "djent"],
    "punk": ["punk", "pop punk"],
    "funk": ["funk", "funky groove"],
    "soul": ["soul", "r&b", "neo soul", "motown"],
    "disco": ["disco", "nu disco"],
    "reggae": ["reggae", "one drop", "ska"],
    "country": ["country", "bluegrass", "americana"],
    "folk": ["folk", "singer songwriter", "celtic jig"],
    "latin": ["latin", "bossa nova", "salsa"],
    "chiptune": ["chiptune", "8-bit", "video game music"],
    "new_age": ["new age", "meditation", "spa", "yoga"],
    "gospel": ["gospel", "gospel choir", "hymn"],
}


def test_every_library_style_has_prompts_here() -> None:
    assert set(PLAIN_PROMPTS) == set(style_names())
    assert len(style_names()) >= 27


@pytest.mark.parametrize(("style", "prompt"),
                         [(s, p) for s, prompts in PLAIN_PROMPTS.items() for p in prompts])
def test_style_recognised_from_plain_prompts_and_aliases(style: str, prompt: str) -> None:
    assert interpret(prompt).style == style


def test_every_alias_in_the_library_selects_its_own_style_and_substyle() -> None:
    for style, substyle, phrase, weight in vocabulary():
        if weight < 3:
            continue  # keywords only lean; aliases must decide on their own
        spec = interpret(phrase)
        assert spec.style == style, phrase
        if substyle is not None:
            assert spec.substyle == substyle, phrase


@pytest.mark.parametrize(("prompt", "substyle"), [
    ("deep house", "deep_house"), ("trap beat with 808s", "trap"), ("boom bap", "boom_bap"),
    ("bossa nova", "bossa_nova"), ("salsa", "salsa"), ("bebop", "bebop"),
    ("jazz trio", "trio"), ("drone", "drone"), ("bluegrass", "bluegrass"),
])
def test_substyles(prompt: str, substyle: str) -> None:
    assert interpret(prompt).substyle == substyle


# ---------------------------------------------------------------- the contract's tips ---
def test_tip_synthwave() -> None:
    spec = interpret("upbeat synthwave with warm neon pads and a driving beat")
    low, high = get_style("synthwave").bpm
    assert spec.style == "synthwave"
    assert spec.instruments["pad"] == "synth_pad_warm"
    assert spec.bpm > (low + high) / 2  # upbeat and driving sit in the top of the range
    assert spec.energy > 0.6 and "drums" in spec.instruments


def test_tip_lofi() -> None:
    spec = interpret("chill lo-fi hip hop, late night study vibes")
    assert spec.style == "lofi"
    assert spec.bpm <= 85 and spec.energy < 0.5
    assert spec.production.lofi > 0.3 and spec.production.vinyl > 0.3
    assert spec.swing > 0


def test_tip_orchestral() -> None:
    spec = interpret("epic orchestral film score, dramatic strings")
    assert spec.style == "cinematic"
    assert "strings" in spec.instruments.values()
    assert mode_family(spec.mode) == "minor"
    assert spec.energy >= 0.8


def test_tip_pop_with_piano_and_synth_bass() -> None:
    spec = interpret("upbeat pop with piano and synth bass, energetic chorus")
    assert spec.style == "pop"
    assert spec.instruments["bass"] == "synth_bass_saw"
    assert "piano" in spec.instruments.values()
    assert spec.energy > 0.7 and mode_family(spec.mode) == "major"


def test_tip_dark_ambient() -> None:
    spec = interpret("dark ambient drone, slow evolving pads, cinematic tension")
    assert spec.style == "ambient"
    assert mode_family(spec.mode) == "minor"
    assert "drums" not in spec.instruments
    assert "pad" in spec.instruments
    assert spec.bpm <= get_style("ambient").bpm[0] + 5
    assert spec.production.brightness < 0


def test_tip_jazz_trio() -> None:
    spec = interpret("jazz trio, upright bass, brushed snare, bebop swing")
    assert spec.style == "jazz" and spec.substyle == "trio"
    assert set(spec.instruments.values()) == {"piano", "upright_bass", "kit_brush"}
    assert spec.swing >= 0.5 and spec.feel == "swing"


def test_tip_explicit_tempo_and_mood() -> None:
    spec = interpret("120 BPM, danceable, happy summer vibes")
    assert spec.bpm == 120 and spec.bpm_explicit
    assert mode_family(spec.mode) == "major"
    assert spec.style in {"pop", "house", "disco"}
    assert spec.energy >= 0.6


def test_tip_solo_piano() -> None:
    spec = interpret("slow and melancholic, solo piano, minor key")
    assert set(spec.instruments.values()) == {"piano"}
    assert spec.solo and spec.mode == "minor"
    assert spec.bpm <= 70


@pytest.mark.parametrize("prompt", ["pop song about chasing dreams", "upbeat pop with piano"])
def test_tip_pop(prompt: str) -> None:
    spec = interpret(prompt)
    assert spec.style == "pop"
    assert spec.instruments.get("chords") == "piano"


# ------------------------------------------------------------------- tempo and key ---
@pytest.mark.parametrize(("prompt", "bpm"), [
    ("techno at 140 bpm", 140), ("ambient, 72 BPM", 72), ("reggae tempo: 90", 90),
    ("hip hop 87.5 bpm", 87.5), ("jazz, 200 beats per minute", 200),
])
def test_explicit_bpm_wins(prompt: str, bpm: float) -> None:
    spec = interpret(prompt)
    assert spec.bpm == bpm and spec.bpm_explicit


def test_tempo_words_move_within_the_style_range() -> None:
    slow, fast = interpret("slow rock"), interpret("fast rock")
    low, high = get_style("rock").bpm
    assert low * 0.85 <= slow.bpm < fast.bpm <= high * 1.15
    assert not slow.bpm_explicit


@pytest.mark.parametrize(("prompt", "key", "mode"), [
    ("pop in D", "D", "major"), ("ballad in F# minor", "F#", "minor"),
    ("jazz in Bb major", "Bb", "major"), ("rock in e minor", "E", "minor"),
    ("Eb major hymn", "Eb", "major"), ("folk in a minor", "A", "minor"),
    ("funk in C dorian", "C", "dorian"),
])
def test_explicit_key(prompt: str, key: str, mode: str) -> None:
    spec = interpret(prompt)
    assert (spec.key, spec.mode) == (key, mode)


@pytest.mark.parametrize("prompt", ["pop in a minor key", "a song in a dark mood"])
def test_the_article_a_is_not_a_key(prompt: str) -> None:
    spec = interpret(prompt)
    assert spec.key is None and mode_family(spec.mode) == "minor"


@pytest.mark.parametrize(("prompt", "family"), [
    ("sad pop", "minor"), ("melancholic folk", "minor"), ("happy synthwave", "major"),
    ("pop", "major"), ("trance", "minor"),
])
def test_mood_words_pick_the_mode_family(prompt: str, family: str) -> None:
    assert mode_family(interpret(prompt).mode) == family


def test_styles_keep_their_modal_colour() -> None:
    assert interpret("funk").mode == "dorian"
    assert interpret("rock").mode == "mixolydian"
    assert interpret("metal").mode == "phrygian"
    assert interpret("dark metal in a minor key").mode == "phrygian"


# ----------------------------------------------------------------------- feel, metre ---
@pytest.mark.parametrize(("prompt", "meter"), [
    ("a waltz", (3, 4)), ("folk in 6/8", (6, 8)), ("jazz in 3/4", (3, 4)), ("pop", (4, 4)),
    ("celtic jig", (6, 8)), ("prog rock in 7/8", (7, 8)),
])
def test_time_signature(prompt: str, meter: tuple[int, int]) -> None:
    assert interpret(prompt).time_signature == meter


def test_feel_words() -> None:
    assert interpret("blues shuffle").swing == 1.0
    assert interpret("pop with a swing feel").swing >= 0.5
    assert interpret("half-time dubstep").feel == "half_time"
    assert interpret("straight jazz").swing == 0.0
    assert interpret("house").swing < 0.5


# ----------------------------------------------------------------------- instruments ---
def test_no_drums_removes_the_drummer() -> None:
    for prompt in ("rock with no drums", "house without drums", "drumless pop"):
        spec = interpret(prompt)
        assert "drums" not in spec.instruments, prompt
        assert spec.instruments, prompt


def test_exclusions_name_instruments_or_roles() -> None:
    assert "bass" not in interpret("funk, no bass").instruments
    assert "piano" not in interpret("pop without piano").instruments.values()
    assert "drums" in interpret("pop").instruments


@pytest.mark.parametrize(("prompt", "role", "instrument"), [
    ("rock with upright bass", "bass", "upright_bass"),
    ("pop with a sax solo", "melody", "alto_sax"),
    ("folk with acoustic guitar", "chords", "acoustic_guitar_steel"),
    ("trap with 808s", "bass", "bass_808"),
    ("soul with strings", "pad", "strings"),
    ("jazz with brushes", "drums", "kit_brush"),
    ("house with dark pads", "pad", "synth_pad_dark"),
    ("ambient with a flute", "melody", "flute"),
])
def test_asked_instruments_take_their_roles(prompt: str, role: str, instrument: str) -> None:
    assert interpret(prompt).instruments[role] == instrument


def test_solo_instruments() -> None:
    for prompt in ("solo piano", "piano only", "just piano, sad"):
        assert set(interpret(prompt).instruments.values()) == {"piano"}, prompt
    guitar = interpret("solo acoustic guitar")
    assert set(guitar.instruments.values()) == {"acoustic_guitar_steel"}
    assert set(guitar.instruments) == {"chords", "melody"}


def test_instruments_always_come_from_the_vocabulary() -> None:
    for style in style_names():
        for substyle in (None, *substyle_names(style)):
            spec = interpret(f"{(substyle or style).replace('_', ' ')} with piano and strings")
            assert set(spec.instruments.values()) <= set(INSTRUMENTS)


# ------------------------------------------------------------------------ production ---
def test_production_hints() -> None:
    base = interpret("pop").production
    assert interpret("lo-fi pop").production.lofi > base.lofi
    assert interpret("pop, vinyl crackle").production.vinyl > base.vinyl
    assert interpret("80s pop").production.reverb_size > base.reverb_size
    assert interpret("dark pop").production.brightness < base.brightness
    assert interpret("bright pop").production.brightness > base.brightness


def test_sidechain_for_dance_styles() -> None:
    assert interpret("house").sidechain and interpret("trance").sidechain
    assert not interpret("folk").sidechain
    assert interpret("deep house").production.sidechain > 0


def test_every_style_has_its_own_production_preset() -> None:
    presets = {get_style(s).production for s in style_names()}
    assert len(presets) >= 20
    assert all(isinstance(p, Production) for p in presets)


# ---------------------------------------------------------------------- robustness ---
@pytest.mark.parametrize("prompt", ["", "   ", "asdf qwerty", "a song about my cat",
                                    "🎵🎶", "no no no", "in", "120", "bpm", "/"])
def test_unknown_text_degrades_to_a_default(prompt: str) -> None:
    spec = interpret(prompt)
    assert spec.style == "pop"
    assert spec.instruments


def test_mood_only_prompts_find_a_close_style() -> None:
    assert interpret("calm and peaceful").style == "new_age"
    assert interpret("dark, mysterious, suspense").style == "cinematic"


def test_spec_depends_only_on_text_and_serialises() -> None:
    prompt = "upbeat synthwave with warm neon pads and a driving beat"
    first, second = interpret(prompt), interpret(prompt)
    assert first == second
    data = json.loads(json.dumps(first.to_dict()))
    assert data["style"] == "synthwave" and data["time_signature"] == "4/4"
    assert data["production"]["reverb_size"] == first.production.reverb_size


_WORDS = sorted({p for _, _, p, _ in vocabulary()} | set(load_data("vocabulary")["tempo"])
                | set(load_data("vocabulary")["instruments"]) | {"no", "solo", "only", "in",
                                                                 "bpm", "120", "F#", "minor"})


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=12)), max_size=12))
def test_any_prompt_gives_a_valid_spec(words: list[str]) -> None:
    spec = interpret(" ".join(words))
    assert isinstance(spec, StyleSpec)
    assert spec.style in style_names()
    assert 40 <= spec.bpm <= 240
    assert spec.mode in MODES
    assert 0.0 <= spec.energy <= 1.0 and 0.0 <= spec.swing <= 1.0
    assert spec.instruments and set(spec.instruments.values()) <= set(INSTRUMENTS)
    assert -1.0 <= spec.production.brightness <= 1.0
    assert 0.0 <= spec.production.lofi <= 1.0
