"""Prompt → :class:`StyleSpec`: what the user asked for, read from free text.

The reading is deterministic (the same text always gives the same spec) and never fails:
unknown words are ignored and a prompt with no recognisable genre becomes pop. Choices that
should vary between seeds (key when none is named, progressions, motifs) are made in
``arrange.compose``.

Example::

    >>> spec = interpret("jazz trio, upright bass, brushed snare, bebop swing")
    >>> spec.style, spec.substyle, spec.instruments["bass"]
    ('jazz', 'trio', 'upright_bass')
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any

from ..score import Production
from .styles import StyleDef, get_style, load_data, resolve_ensemble, style_names, vocabulary
from .theory import MODES, PITCH_CLASSES, mode_family

_MIN_BPM, _MAX_BPM = 40.0, 240.0


@dataclass(frozen=True)
class StyleSpec:
    """The interpretation of a prompt: style, tempo, key, feel, mood and instrumentation."""

    prompt: str
    style: str
    substyle: str
    bpm: float
    bpm_explicit: bool = False
    key: str | None = None  # None: the composer picks one of the style's keys by seed
    mode: str = "major"
    time_signature: tuple[int, int] = (4, 4)
    swing: float = 0.0
    feel: str = "straight"  # straight, swing, shuffle, half_time
    energy: float = 0.5
    mood: str = ""
    instruments: dict[str, str] = field(default_factory=dict)  # role → instrument
    wanted: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    solo: bool = False
    hints: tuple[str, ...] = ()
    production: Production = field(default_factory=Production)
    sidechain: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the spec."""
        out = asdict(self)
        out["time_signature"] = f"{self.time_signature[0]}/{self.time_signature[1]}"
        out["wanted"], out["excluded"], out["hints"] = (
            list(self.wanted), list(self.excluded), list(self.hints))
        return out


def interpret(prompt: str) -> StyleSpec:
    """Read a free-text prompt into a :class:`StyleSpec` (never raises)."""
    text = normalize(prompt)
    style_name, substyle = _pick_style(text)
    style = get_style(style_name, substyle)
    bpm, explicit = _tempo(prompt, text, style)
    key, key_mode = _key(prompt)
    mood, family_vote = _mood(text, style)
    swing, feel = _feel(text, style)
    ensemble, wanted, excluded, solo = resolve_ensemble(text, style)
    hints = _hints(text)
    production = _production(style.production, hints)
    return StyleSpec(
        prompt=prompt, style=style.name, substyle=style.substyle, bpm=bpm,
        bpm_explicit=explicit, key=key, mode=_mode(text, style, key_mode, family_vote),
        time_signature=_meter(text, style), swing=swing, feel=feel,
        energy=_energy(text, style), mood=mood, instruments=ensemble, wanted=wanted,
        excluded=excluded, solo=solo, hints=hints, production=production,
        sidechain=style.sidechain or production.sidechain > 0,
    )


# ----------------------------------------------------------------------------- text ---
def normalize(prompt: str) -> str:
    """Lower-case, "&" → "and", other punctuation (but "/" "#" digits) → spaces."""
    text = prompt.lower().replace("&", " and ").replace("'", "").replace("’", "")
    text = re.sub(r"[^a-z0-9/#.\s]", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # keep decimal points only
    return " " + re.sub(r"\s+", " ", text).strip() + " "


@lru_cache(maxsize=4096)
def _phrase_re(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])")


def find(text: str, phrase: str) -> int:
    """Position of ``phrase`` as whole words in normalized ``text``, or -1."""
    match = _phrase_re(phrase).search(text)
    return match.start() if match else -1


# ---------------------------------------------------------------------------- style ---
def _pick_style(text: str) -> tuple[str, str | None]:
    """The best-scoring style and, within it, the best-scoring substyle (ties: earliest)."""
    scores: dict[str, list[float]] = {}
    sub_scores: dict[tuple[str, str], list[float]] = {}
    for style, sub, phrase, weight in vocabulary():
        pos = find(text, phrase)
        if pos < 0:
            continue
        _add(scores, style, weight, pos)
        if sub is not None:
            _add(sub_scores, (style, sub), weight, pos)
    if not scores:
        return "pop", None
    order = {name: i for i, name in enumerate(style_names())}
    best = min(scores, key=lambda s: (-scores[s][0], scores[s][1], order[s]))
    subs = {k[1]: v for k, v in sub_scores.items() if k[0] == best}
    return best, (min(subs, key=lambda s: (-subs[s][0], subs[s][1])) if subs else None)


def _add(table: dict[Any, list[float]], key: Any, weight: float, pos: int) -> None:
    entry = table.setdefault(key, [0.0, float(pos)])
    entry[0] += weight
    entry[1] = min(entry[1], pos)


# ---------------------------------------------------------------------------- tempo ---
_BPM_RE = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*(?:bpm|beats per minute)|(?:bpm|tempo)\s*:?\s*"
                     r"(\d{2,3}(?:\.\d+)?)")


def _tempo(prompt: str, text: str, style: StyleDef) -> tuple[float, bool]:
    """An explicit "120 BPM" wins; else tempo words place it in the style's range."""
    match = _BPM_RE.search(prompt.lower())
    if match:
        value = float(match.group(1) or match.group(2))
        return min(_MAX_BPM, max(_MIN_BPM, value)), True
    positions = [v for p, v in load_data("vocabulary")["tempo"].items() if find(text, p) >= 0]
    position = sum(positions) / len(positions) if positions else 0.5
    low, high = style.bpm
    bpm = low + position * (high - low)
    bpm = min(high * 1.15, max(low * 0.85, bpm))
    return float(round(min(_MAX_BPM, max(_MIN_BPM, bpm)))), False


# ------------------------------------------------------------------------------ key ---
_KEY_RE = re.compile(r"\b(in|key of|key)\s+([A-Ga-g])(#|b(?![a-z])|♯|♭|\s+sharp|\s+flat)?"
                     r"(?:\s*(major|minor|maj|min|m(?![a-z])|dorian|phrygian|lydian|"
                     r"mixolydian|locrian))?(?![a-z#])(\s+key)?")
_BARE_KEY_RE = re.compile(r"\b([A-G])(#|b|♯|♭)?\s*(major|minor|dorian|phrygian|lydian|"
                          r"mixolydian|locrian)\b", re.IGNORECASE)


def _key(prompt: str) -> tuple[str | None, str | None]:
    """Tonic and mode named in the prompt ("in D", "F# minor"), reading case to spot "a"."""
    for match in _KEY_RE.finditer(prompt):
        letter, accidental, quality, key_word = match.group(2, 3, 4, 5)
        if letter == "a" and not accidental and (not quality or key_word):
            continue  # "in a minor key", "in a dark mood": the article, not the note A
        return _key_name(letter, accidental), _quality_mode(quality)
    for match in _BARE_KEY_RE.finditer(prompt):
        if match.group(1).isupper():
            return _key_name(match.group(1), match.group(2)), _quality_mode(match.group(3))
    return None, None


def _key_name(letter: str, accidental: str | None) -> str:
    sign = (accidental or "").strip().lower()
    suffix = "#" if sign in ("#", "♯", "sharp") else "b" if sign in ("b", "♭", "flat") else ""
    name = letter.upper() + suffix
    return name if name in PITCH_CLASSES else letter.upper()


def _quality_mode(quality: str | None) -> str | None:
    if not quality:
        return None
    quality = quality.lower()
    if quality in MODES:
        return quality
    return "minor" if quality in ("minor", "min", "m") else "major"


# ----------------------------------------------------------------------- mode, mood ---
def _mood(text: str, style: StyleDef) -> tuple[str, str | None]:
    """The first mood word (else the style's mood) and the mode family the words lean to."""
    found = []
    for phrase, (mood, family) in load_data("vocabulary")["mood"].items():
        pos = find(text, phrase)
        if pos >= 0:
            found.append((pos, mood, family))
    if not found:
        return style.mood, None
    found.sort()
    votes = [f for _, _, f in found if f]
    minor, major = votes.count("minor"), votes.count("major")
    family = "minor" if minor > major else "major" if major > minor else None
    return found[0][1], family


def _mode(text: str, style: StyleDef, key_mode: str | None, family: str | None) -> str:
    """Explicit mode words win, then the key's quality, then mood words, then the style."""
    for phrase, mode in load_data("vocabulary")["modes"].items():
        if find(text, phrase) >= 0:
            return _fit_mode(style, str(mode))
    if key_mode:
        return _fit_mode(style, key_mode)
    if family and family != mode_family(style.mode):
        return "minor" if family == "minor" else "major"
    return style.mode


def _fit_mode(style: StyleDef, mode: str) -> str:
    """A plain "minor"/"major" request keeps the style's own modal colour of that family."""
    if mode in ("minor", "major") and mode_family(style.mode) == mode:
        return style.mode
    return mode


def _energy(text: str, style: StyleDef) -> float:
    values = [v for p, v in load_data("vocabulary")["energy"].items() if find(text, p) >= 0]
    return round(sum(values) / len(values), 3) if values else style.energy


def _feel(text: str, style: StyleDef) -> tuple[float, str]:
    """Swing amount and feel name; swing words never straighten a swung style."""
    swing, feel = style.swing, "swing" if style.swing >= 0.5 else "straight"
    if style.swing >= 0.9:
        feel = "shuffle"
    for phrase, (amount, name) in load_data("vocabulary")["feel"].items():
        if find(text, phrase) < 0:
            continue
        if name == "half_time":
            feel = name
        elif name == "straight":
            swing, feel = 0.0, name
        else:
            swing, feel = max(swing, float(amount)), name
    return swing, feel


_METER_RE = re.compile(r"(?<!\d)(\d{1,2})/(4|8)(?!\d)")


def _meter(text: str, style: StyleDef) -> tuple[int, int]:
    """A written signature ("6/8") or a word ("waltz"), else the style's metre."""
    for match in _METER_RE.finditer(text):
        beats, unit = int(match.group(1)), int(match.group(2))
        if (unit == 4 and 2 <= beats <= 7) or (unit == 8 and beats in (3, 5, 6, 7, 9)):
            return beats, unit
    for phrase, meter in load_data("vocabulary")["meter"].items():
        if "/" not in phrase and find(text, phrase) >= 0:
            return int(meter[0]), int(meter[1])
    return style.meter


# ----------------------------------------------------------------------- production ---
def _hints(text: str) -> tuple[str, ...]:
    found = {h for p, h in load_data("vocabulary")["hints"].items() if find(text, p) >= 0}
    return tuple(sorted(found))


_RANGES = {"brightness": (-1.0, 1.0), "target_lufs": (-30.0, -6.0),
           "true_peak_db": (-6.0, 0.0), "delay_beats": (0.125, 4.0)}


def _production(base: Production, hints: tuple[str, ...]) -> Production:
    """The style's preset moved by each hint's effects, kept inside valid ranges."""
    values = asdict(base)
    effects = load_data("vocabulary")["hint_effects"]
    for hint in hints:
        for name, delta in effects.get(hint, {}).items():
            low, high = _RANGES.get(name, (0.0, 1.0))
            value = values[name]
            if name not in _RANGES and delta > 0:
                delta *= 1.0 - value  # a lo-fi style asked for "lo-fi" gets more, not double
            values[name] = round(min(high, max(low, value + float(delta))), 3)
    return replace(base, **values)
