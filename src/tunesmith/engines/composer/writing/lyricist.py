"""Lyrics written from a prompt: a theme's word bank, rhyme families and a song form.

A line is an *opener* (what happens: ``"we're chasing every dream"``) followed by an *ending*
from a rhyme family (``"into the sky"``, ``"we learn to fly"``); two endings of one family
make a rhyming pair. Themes, openers, families and mood adjectives are data in
``data/lyrics_themes.json``; syllables and rhymes are checked with espeak-ng
(:mod:`.phonemes`), so a line is kept only when it fits a melody of 6-9 notes.

>>> print(write_lyrics("pop song about chasing dreams", seed=3).splitlines()[0])
[Verse]
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..phonemes import count_phoneme_syllables, is_vowel, phonemize, words_of
from .lyrics import SECTION_TAGS
from .styles import load_data

MIN_SYLLABLES, MAX_SYLLABLES = 6, 9
#: The form ``write_lyrics`` fills; the chorus is written once and repeated verbatim.
SONG_FORM = ("verse", "chorus", "verse", "chorus", "bridge", "chorus")
#: Endings that start with one of these follow the opener without a comma.
_PREPOSITIONS = frozenset([
    "into", "in", "under", "by", "on", "through", "till", "to", "down", "across", "beyond",
    "for", "with", "up", "off", "back", "where", "like", "before", "as", "when", "all",
    "right", "close", "far", "open", "side", "out", "from"
])
_DATA_FILE = Path(__file__).parents[1] / "data" / "lyrics_themes.json"


@lru_cache(maxsize=1)
def word_banks() -> dict[str, Any]:
    """The themes, openers, rhyme families and mood adjectives (``lyrics_themes.json``)."""
    data: dict[str, Any] = json.loads(_DATA_FILE.read_text(encoding="utf-8"))
    return data


def count_syllables(line: str, language: str = "en-us") -> int:
    """Sung syllables in a line, as espeak-ng reads it (``"chasing dreams"`` -> 3)."""
    return count_phoneme_syllables(" ".join(words_of(line)), language) if words_of(line) else 0


def _normal(phoneme: str) -> str:
    """Fold vowel length and espeak's reduced variants so near-identical vowels match."""
    bare = phoneme.lstrip("',%=").replace(":", "").rstrip("#")
    return bare[:-1] if len(bare) > 1 and bare[-1] == "2" else bare


@lru_cache(maxsize=4096)
def rhyme_key(word: str, language: str = "en-us") -> tuple[str, ...]:
    """The sound that must match for a rhyme: the last stressed vowel and all after it."""
    phones = [p for w in phonemize(word, language) for p in w]
    vowels = [i for i, p in enumerate(phones) if is_vowel(p)]
    if not vowels:
        return tuple(_normal(p) for p in phones)
    stressed = [i for i in vowels if phones[i][:1] in "',"]
    return tuple(_normal(p) for p in phones[(stressed or vowels)[-1]:])


def _last_word(text: str) -> str:
    words = words_of(text)
    return words[-1].lower() if words else ""


def rhymes(a: str, b: str, language: str = "en-us") -> bool:
    """Whether two lines (or words) end in a rhyme; the same word twice does not count."""
    wa, wb = _last_word(a), _last_word(b)
    if not wa or not wb or wa == wb:
        return False
    return rhyme_key(wa, language) == rhyme_key(wb, language)


def detect_theme(prompt: str, mood: str | None = None) -> str:
    """The theme whose keywords the prompt mentions most; else the mood's; else generic."""
    banks = word_banks()
    words = [w.lower() for w in re.findall(r"[a-zA-Z']+", prompt)]
    scores = {
        name: sum(1 for w in words for k in theme["keywords"] if w == k or w.startswith(k))
        for name, theme in banks["themes"].items()
    }
    best = max(scores, key=lambda name: scores[name])
    if scores[best] > 0:
        return best
    for word in ([mood.lower()] if mood else []) + words:
        if word in banks["moods"]:
            return str(banks["moods"][word]["theme"])
    return "generic"


def _adjectives(theme: str, mood: str | None) -> list[str]:
    moods = word_banks()["moods"]
    own = list(word_banks()["themes"][theme]["adjectives"])
    return list(moods[mood.lower()]["adjectives"]) + own if mood and mood.lower() in moods else own


class _Writer:
    """Writes the stanzas of one song, never reusing an opener or ending while others remain."""

    def __init__(self, theme: str, mood: str | None, rng: random.Random) -> None:
        banks = word_banks()["themes"]
        self.theme, self.rng = banks[theme], rng
        self.generic = banks["generic"]
        self.adjectives = _adjectives(theme, mood)
        self.used: set[str] = set()
        self.families = [list(f) for f in self.theme["families"]]
        rng.shuffle(self.families)
        self.next_family = 0

    def _family(self) -> list[str]:
        family = self.families[self.next_family % len(self.families)]
        self.next_family += 1
        return family

    def _pair(self) -> list[str]:
        """Two endings of one family whose last words rhyme."""
        family = list(self._family())
        self.rng.shuffle(family)
        fresh = [e for e in family if e not in self.used]
        for pool in (fresh, family):  # fresh endings first, repeats only when they run out
            for i, first in enumerate(pool):
                for second in pool[i + 1:]:
                    if rhymes(first, second):
                        self.used.update((first, second))
                        return [first, second]
        raise ValueError(f"rhyme family {family!r} has no rhyming pair")

    def _fill(self, opener: str) -> str:
        text = opener.replace("{adj}", self.rng.choice(self.adjectives)).replace(
            "{noun}", self.rng.choice(self.theme["nouns"]))
        return re.sub(r"\ba (?=[aeiou])", "an ", text)  # "a empty day" -> "an empty day"

    def _openers(self, must_mention: bool) -> list[str]:
        own, extra = list(self.theme["openers"]), list(self.generic["openers"])
        self.rng.shuffle(own)
        self.rng.shuffle(extra)
        pool = [o for o in own + extra if o not in self.used] + own + extra
        if must_mention:
            words = set(self.theme["keywords"]) | set(self.theme["nouns"])
            pool = [o for o in pool if set(words_of(o.lower())) & words] or pool
        return pool

    def line(self, ending: str, must_mention: bool = False) -> str:
        """An opener and the ending, with a syllable count a short melody can carry."""
        joiner = " " if _last_word(ending.split()[0]) in _PREPOSITIONS else ", "
        for opener in self._openers(must_mention):
            text = self._fill(opener) + joiner + ending
            if MIN_SYLLABLES <= count_syllables(text) <= MAX_SYLLABLES:
                self.used.add(opener)
                return text[0].upper() + text[1:]
        return ending[0].upper() + ending[1:]

    def lines(self, count: int, scheme: str, title: bool = False) -> list[str]:
        """``count`` lines: four-line stanzas, then a rhyming couplet, then a single line."""
        out: list[str] = []
        while len(out) + 4 <= count:
            out += self.stanza(scheme, title=title and not out)
        while len(out) < count:
            pair = self._pair()[: count - len(out)]
            out += [self.line(end, must_mention=title and not out) for end in pair]
        return out

    def stanza(self, scheme: str, title: bool = False) -> list[str]:
        """Four lines rhyming ``AABB`` or ``ABAB``."""
        a, b = self._pair(), self._pair()
        ends = a + b if scheme == "AABB" else [a[0], b[0], a[1], b[1]]
        return [self.line(end, must_mention=title and i == 0) for i, end in enumerate(ends)]


def write_lyrics(prompt: str, seed: int, mood: str | None = None,
                 form: Sequence[tuple[str, int]] | None = None) -> str:
    """Tagged lyrics for the prompt's theme and mood; the same seed writes the same song.

    ``form`` lists (section, line count) to write, e.g. ``[("verse", 4), ("chorus", 2)]``;
    by default :data:`SONG_FORM` with four lines per section. Choruses (and the other
    sections ``data/vocals.toml`` marks repeated) are written once and come back verbatim.
    """
    theme = detect_theme(prompt, mood)
    rng = random.Random(f"{seed}:{theme}:{mood or ''}")
    writer = _Writer(theme, mood, rng)
    if form is None:
        return _classic_song(writer, rng)
    return _song_for_form(writer, rng, list(form))


def _classic_song(writer: _Writer, rng: random.Random) -> str:
    chorus = writer.stanza("AABB", title=True)
    stanzas = {"chorus": chorus}
    blocks = []
    for section in SONG_FORM:
        if section not in stanzas or section == "verse":
            stanzas[section] = writer.stanza(rng.choice(("AABB", "ABAB")))
        blocks.append("\n".join([f"[{section.title()}]"] + stanzas[section]))
    return "\n\n".join(blocks)


def _song_for_form(writer: _Writer, rng: random.Random, form: list[tuple[str, int]]) -> str:
    repeated = set(load_data("vocals")["repeated_tags"])
    longest: dict[str, int] = {}
    for name, count in form:
        if name in repeated:
            longest[name] = max(longest.get(name, 0), count)
    # repeated sections rhyme in couplets, so a shorter return (a prefix) still rhymes
    stanzas = {"chorus": writer.lines(longest["chorus"], "AABB", title=True)} \
        if "chorus" in longest else {}
    blocks = []
    for name, count in form:
        if name in repeated:
            if name not in stanzas:
                stanzas[name] = writer.lines(longest[name], "AABB")
            lines = stanzas[name][:count]
        else:
            lines = writer.lines(count, rng.choice(("AABB", "ABAB")))
        blocks.append("\n".join([f"[{SECTION_TAGS.get(name, name.title())}]", *lines]))
    return "\n\n".join(blocks)
