"""Text to syllables with phonemes and stress, through espeak-ng (the espeakng-loader wheel).

espeak-ng is driven with ctypes: the wheel ships ``libespeak-ng.so`` and its data, so this works
offline with nothing else installed. The library keeps global state and is not re-entrant, so
every call goes through one process-wide lock.

* :func:`phonemize` -- words as lists of espeak phoneme mnemonics (stress marks kept);
* :func:`syllabify_line` -- a lyric line as :class:`Syllable` s (spelling, phonemes, nucleus,
  stress), ready to put on notes;
* :func:`speak` -- a neutral, monotone reading of a phrase with the sample position of each
  phoneme, which the singing voice (``voice.py``) time-warps onto the melody.

Phonemes are espeak's ASCII mnemonics (``tS``, ``'eI``, ``@``); ``'`` marks primary stress and
``,`` secondary stress on the vowel that carries it.
"""

from __future__ import annotations

import _ctypes
import ctypes
import itertools
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_WORD, _EVENT_PHONEME = 1, 7
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4
_SEPARATOR = ord("_") << 8  # phoneme mode: "_" between phoneme names, mnemonics not IPA

#: First characters of espeak vowel mnemonics (``@L`` syllabic l and ``3:`` count as vowels).
_VOWEL_STARTS = frozenset("aeiouAEIOUVY03@&y")
_STRESS_MARKS = {"'": 2, ",": 1}
#: Two-consonant onsets English allows, so ``ex-tra`` splits as ``E k s t r @`` -> ``Eks|tr@``.
_ONSETS = frozenset([
    "pr", "tr", "kr", "br", "dr", "gr", "pl", "kl", "bl", "gl", "fl", "fr", "sp", "st", "sk",
    "sl", "sm", "sn", "sw", "tw", "kw", "Tr", "Sr", "dj", "tj", "kj", "pj", "bj", "fj", "mj"
])
#: Letter pairs that spell one consonant and go to the following syllable (``mo-ther``).
_DIGRAPHS_NEXT = frozenset(["ch", "sh", "th", "ph", "wh", "gh"])
#: Spelled onsets that open a syllable (``a-cross``, ``ex-tra``).
_SPELLED_ONSETS = frozenset([
    "bl", "br", "cl", "cr", "dr", "fl", "fr", "gl", "gr", "pl", "pr", "tr"
])
#: Letter pairs that stay with the preceding syllable (``sing-er``, ``pack-ing``).
_DIGRAPHS_PREV = frozenset(["ng", "ck"])


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int), ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class SpokenPhoneme:
    """One phoneme of a spoken phrase: mnemonic, word index and sample span in the reading."""

    name: str
    word: int
    start: int
    end: int


@dataclass(frozen=True)
class Syllable:
    """One syllable: ``stress`` is 2 primary, 1 secondary, 0 none; ``index`` is its place in
    its word of ``count`` syllables."""

    text: str
    phonemes: tuple[str, ...]
    nucleus: str
    stress: int
    word: str
    index: int
    count: int

    @property
    def lyric(self) -> str:
        """The text for a note's ``lyric``: a trailing ``-`` says the word goes on (``chas-``)."""
        return self.text + ("-" if self.index < self.count - 1 else "")


class _Espeak:
    """The loaded library, its synthesis callback and the voice currently selected."""

    def __init__(self) -> None:
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int
        ]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = int(self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INIT_PHONEME_EVENTS
        ))
        if self.sample_rate <= 0:
            raise RuntimeError("espeak-ng failed to initialise from the espeakng-loader data")
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, int, str]] = []
        self._callback = _Callback(self._collect)  # kept referenced: the library holds it
        self.lib.espeak_SetSynthCallback(self._callback)
        self.voice = b""

    def _collect(self, wav: ctypes.Array, count: int, events: ctypes.Array) -> int:
        if count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != 0:
            event = events[i]
            name = bytes(event.id).split(b"\0")[0].decode("ascii", "replace")
            self.events.append((event.type, event.sample, name))
            i += 1
        return 0

    def select(self, voice: str) -> None:
        """Select a voice (``en-us``, ``en-us+f3``), raising ValueError when espeak lacks it."""
        if voice.encode() != self.voice:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice or language {voice!r}")
            self.voice = voice.encode()


_LOCK = threading.Lock()
_ENGINE: list[_Espeak] = []


def _engine() -> _Espeak:
    if not _ENGINE:
        _ENGINE.append(_Espeak())
    return _ENGINE[0]


def _fresh_engine() -> _Espeak:
    """Reload the library: espeak keeps its pitch-flutter phase in a C static, so without a
    reload a reading depends on everything read before it (and a seed would not repeat)."""
    if _ENGINE:
        old = _ENGINE.pop()
        old.lib.espeak_Terminate()
        _ctypes.dlclose(old.lib._handle)
    engine = _engine()
    engine.lib.espeak_ng_SetRandSeed(ctypes.c_long(1))  # its noise comes from libc rand()
    return engine


@lru_cache(maxsize=4096)
def phonemize(text: str, language: str = "en-us") -> tuple[tuple[str, ...], ...]:
    """Words of ``text`` as tuples of phoneme mnemonics, e.g. ``(("h", "@", "l", "'oU"),)``."""
    words: list[tuple[str, ...]] = []
    with _LOCK:
        engine = _engine()
        engine.select(language)
        pointer = ctypes.c_char_p(text.encode("utf-8"))
        while pointer.value:
            clause = engine.lib.espeak_TextToPhonemes(
                ctypes.byref(pointer), _CHARS_UTF8, _SEPARATOR)
            for word in (clause or b"").decode("utf-8", "replace").split():
                phones = tuple(p for p in word.split("_") if p and not p.startswith("_"))
                if phones:
                    words.append(phones)
    return tuple(words)


def is_vowel(phoneme: str) -> bool:
    """Whether an espeak mnemonic (stress marks allowed) is a syllable nucleus."""
    bare = phoneme.lstrip("',%=")
    return bool(bare) and bare[0] in _VOWEL_STARTS


def _stress(phoneme: str) -> int:
    return _STRESS_MARKS.get(phoneme[:1], 0)


def _bare(phoneme: str) -> str:
    return phoneme.lstrip("',%=")


def syllable_spans(phones: tuple[str, ...] | list[str]) -> list[tuple[int, int, int]]:
    """Split one word's phonemes into syllables: ``(start, nucleus, end)`` index triples."""
    nuclei = [i for i, p in enumerate(phones) if is_vowel(p)]
    if not nuclei:
        return [(0, 0, len(phones))] if phones else []
    starts = [0]
    for left, right in itertools.pairwise(nuclei):
        consonants = right - left - 1
        pair = "".join(_bare(p) for p in phones[right - 2:right]) if consonants >= 2 else ""
        if consonants <= 1:
            starts.append(right - consonants)
        else:
            starts.append(right - 2 if pair in _ONSETS else right - 1)
    ends = [*starts[1:], len(phones)]
    return list(zip(starts, nuclei, ends, strict=False))


def _vowel_groups(word: str) -> list[tuple[int, int]]:
    """Spelled vowel groups of a word, dropping a silent final ``e`` (``hope``, not ``little``)."""
    lower = word.lower()
    groups = [m.span() for m in re.finditer(r"[aeiouy]+", lower)]
    if groups and groups[0] == (0, 1) and lower[0] == "y" and len(lower) > 1:
        groups = groups[1:]  # "you", "yes": y starts as a consonant
    silent_e = lower.endswith("e") and not re.search(r"[^aeiou]le$", lower)
    if len(groups) > 1 and silent_e and groups[-1] == (len(lower) - 1, len(lower)):
        groups = groups[:-1]
    return groups


def _cut_between(word: str, left_end: int, right_start: int) -> int:
    """Where to cut the consonant letters between two vowel groups."""
    consonants = word[left_end:right_start].lower()
    if len(consonants) <= 1:
        return left_end if consonants != "x" else right_start
    if consonants[-2:] in _DIGRAPHS_NEXT or consonants[-2:] in _SPELLED_ONSETS:
        return right_start - 2
    if consonants[:2] in _DIGRAPHS_PREV:
        return left_end + 2
    return left_end + 1


def split_spelling(word: str, count: int) -> list[str]:
    """Split a word's spelling into ``count`` pieces along its vowel groups (``chas|ing``)."""
    groups = _vowel_groups(word)
    while len(groups) > count and len(groups) > 1:
        # fold the two groups closest together: "ev-e-ry" -> "e-very", "fam-i-ly" -> "fa-mily"
        gaps = [b[0] - a[1] for a, b in itertools.pairwise(groups)]
        i = len(gaps) - 1 - gaps[::-1].index(min(gaps))
        groups[i:i + 2] = [(groups[i][0], groups[i + 1][1])]
    cuts = [_cut_between(word, a[1], b[0]) for a, b in itertools.pairwise(groups)]
    pieces = [word[i:j] for i, j in zip([0, *cuts], [*cuts, len(word)], strict=False)]
    return [p for p in pieces if p] or [word]


def _word_syllables(word: str, phones: tuple[str, ...]) -> list[Syllable]:
    spans = syllable_spans(phones)
    pieces = split_spelling(word, max(1, len(spans)))
    while len(spans) > len(pieces):  # spelling has fewer groups: fold phoneme syllables
        spans[-2:] = [(spans[-2][0], spans[-2][1], spans[-1][2])]
    result = []
    for index, ((start, nucleus, end), text) in enumerate(zip(spans, pieces, strict=False)):
        group = phones[start:end]
        result.append(Syllable(
            text=text, phonemes=tuple(_bare(p) for p in group), nucleus=_bare(phones[nucleus]),
            stress=max((_stress(p) for p in group), default=0), word=word, index=index,
            count=len(pieces),
        ))
    return result


def words_of(line: str) -> list[str]:
    """The sung words of a line: letters, digits and inner apostrophes (``don't``)."""
    return re.findall(r"[^\W_]+(?:['’][^\W_]+)*", line)


def syllabify_line(line: str, language: str = "en-us") -> list[Syllable]:
    """A lyric line as syllables with stress, e.g. ``"chasing dreams"`` -> chas-, ing, dreams."""
    words = words_of(line)
    phrase = phonemize(" ".join(words), language) if words else ()
    if len(phrase) != len(words):  # espeak joined or split words: read them one by one
        phrase = tuple(next(iter(phonemize(w, language)), ()) for w in words)
    syllables: list[Syllable] = []
    for word, phones in zip(words, phrase, strict=False):
        syllables.extend(_word_syllables(word, phones))
    return syllables


def count_phoneme_syllables(text: str, language: str = "en-us") -> int:
    """Number of vowel nuclei espeak reads in ``text``."""
    return sum(1 for word in phonemize(text, language) for p in word if is_vowel(p))


def speak(
    text: str, voice: str, pitch: int = 50, rate: int = 140
) -> tuple[np.ndarray, int, list[SpokenPhoneme]]:
    """Read ``text`` monotonously: int16 samples, sample rate, and every phoneme's span."""
    with _LOCK:
        engine = _fresh_engine()
        engine.select(voice)
        for param, value in ((_PARAM_RATE, rate), (_PARAM_PITCH, pitch), (_PARAM_RANGE, 0)):
            engine.lib.espeak_SetParameter(param, value, 0)
        engine.chunks, engine.events = [], []
        data = text.encode("utf-8")
        engine.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        chunks, events, rate_hz = engine.chunks, engine.events, engine.sample_rate
    wave = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    return wave, rate_hz, _phoneme_spans(events, len(wave))


def _phoneme_spans(events: list[tuple[int, int, str]], length: int) -> list[SpokenPhoneme]:
    """Turn word and phoneme events into phoneme spans; a phoneme ends where the next begins."""
    word, marks = -1, []
    for kind, sample, name in events:
        if kind == _EVENT_WORD:
            word += 1
        elif kind == _EVENT_PHONEME:
            marks.append((name, max(word, 0), min(sample, length)))
    spans = []
    for (name, w, start), nxt in zip(marks, [*marks[1:], ("", 0, length)], strict=False):
        if not name.startswith("_"):
            spans.append(SpokenPhoneme(name, w, start, max(start, nxt[2])))
    return spans


#: How much a syllable wants a strong beat, by stress (unstressed ones prefer weak beats).
_STRESS_WEIGHT = {2: 1.0, 1: 0.4, 0: -0.4}
_MELISMA_COST, _TAIL_MELISMA_COST = 0.25, 0.05  # holding the last syllable is natural


def _merge_weakest(lyrics: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Join the adjacent pair with the least stress (fewer notes than syllables)."""
    costs = [a[1] + b[1] + (0 if a[0].endswith("-") else 3) for a, b in itertools.pairwise(lyrics)]
    i = costs.index(min(costs))
    (a, sa), (b, sb) = lyrics[i], lyrics[i + 1]
    joined = a[:-1] + b if a.endswith("-") else f"{a} {b}"
    return [*lyrics[:i], (joined, max(sa, sb)), *lyrics[i + 2:]]


def place_syllables(syllables: list[Syllable], strengths: list[float]) -> list[str]:
    """One lyric per note of a phrase: stressed syllables land on strong notes, spare notes
    hold the syllable before them (``""``, a melisma), surplus syllables share a note.

    ``strengths`` is each note's metric weight in order (1 downbeat .. 0 weakest offbeat).
    >>> place_syllables(syllabify_line("chasing dreams"), [1.0, 0.25, 0.5, 0.25])
    ['cha-', 'sing', 'dreams', '']
    """
    slots = len(strengths)
    lyrics = [(s.lyric, s.stress) for s in syllables]
    if not slots or not lyrics:
        return [""] * slots
    while len(lyrics) > slots:
        lyrics = _merge_weakest(lyrics)
    n = len(lyrics)
    best = np.full((n, slots), -np.inf)
    back = np.zeros((n, slots), dtype=int)
    best[0, 0] = _STRESS_WEIGHT[lyrics[0][1]] * strengths[0]
    for i in range(1, n):
        gain = _STRESS_WEIGHT[lyrics[i][1]]
        for j in range(i, slots - (n - 1 - i)):
            prev = best[i - 1, :j] - _MELISMA_COST * (j - 1 - np.arange(j))
            back[i, j] = int(np.argmax(prev))
            best[i, j] = prev[back[i, j]] + gain * strengths[j]
    tail = best[n - 1] - _TAIL_MELISMA_COST * (slots - 1 - np.arange(slots))
    j = int(np.argmax(tail))
    out = [""] * slots
    for i in range(n - 1, -1, -1):
        out[j] = lyrics[i][0]
        j = back[i, j]
    return out
