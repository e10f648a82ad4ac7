"""The style library: loads ``data/*.toml`` into typed, read-only style definitions.

All musical knowledge (progressions, grooves, forms, ensembles, production presets) lives in the
data files; this module only merges a style over the defaults and a substyle over its style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from ..library import load_data
from ..score import INSTRUMENTS, Production

DEFAULT_STYLE = "pop"
TIERS = ("light", "mid", "full")


@dataclass(frozen=True)
class MelodyShape:
    """How a style's lead moves: ``density`` 0..1 of notes per slot, MIDI range."""

    density: float
    low: int
    high: int


@dataclass(frozen=True)
class StyleDef:
    """One style (or substyle) with every default filled in."""

    name: str
    substyle: str
    bpm: tuple[float, float]
    mode: str
    meter: tuple[int, int]
    swing: float
    swing_unit: int
    energy: float
    mood: str
    form: str
    chord_bars: int
    keys: tuple[str, ...]
    drums: dict[str, str]
    fill: str
    bass: dict[str, str]
    comp: dict[str, str]
    arp: str
    pad: str
    voicing: str
    melody: MelodyShape
    ending: dict[str, str]
    half: dict[str, str]
    cadence: dict[str, str]
    cues: tuple[str, ...]
    sidechain: bool
    humanize: dict[str, float]
    production: Production
    ensemble: dict[str, str]
    mix: dict[str, dict[str, float]]
    progressions: dict[str, dict[str, list[str]]]

    def progressions_for(self, family: str) -> tuple[dict[str, list[str]], bool]:
        """The progression table for a mode family and whether it is the family asked for."""
        if family in self.progressions:
            return self.progressions[family], True
        other = "major" if family == "minor" else "minor"
        return self.progressions.get(other, {}), False


def style_names() -> tuple[str, ...]:
    """Every style in the library."""
    return tuple(load_data("styles")["styles"])


def substyle_names(style: str) -> tuple[str, ...]:
    """The substyles a style defines (may be empty)."""
    return tuple(load_data("styles")["styles"][style].get("substyles", {}))


def default_substyle(style: str) -> str:
    """The substyle used when the prompt names none."""
    raw = load_data("styles")["styles"][style]
    return str(raw.get("default_substyle", style))


@cache
def get_style(name: str, substyle: str | None = None) -> StyleDef:
    """The merged definition of ``name`` (and ``substyle``), unknown names falling back to pop."""
    table = load_data("styles")
    if name not in table["styles"]:
        name = DEFAULT_STYLE
    raw_style = table["styles"][name]
    merged = _merge(table["defaults"], _without(raw_style, "substyles"))
    sub = substyle or default_substyle(name)
    if sub in raw_style.get("substyles", {}):
        merged = _merge(merged, raw_style["substyles"][sub])
    return _build(name, sub, merged)


def vocabulary() -> list[tuple[str, str | None, str, float]]:
    """Every (style, substyle, phrase, weight) the prompt reader scores against."""
    out: list[tuple[str, str | None, str, float]] = []
    for style, raw in load_data("styles")["styles"].items():
        out += _phrases(style, None, raw)
        for sub, sub_raw in raw.get("substyles", {}).items():
            out += _phrases(style, sub, sub_raw)
    return out


def _phrases(style: str, sub: str | None, raw: dict[str, Any]) -> list[tuple[str, str | None,
                                                                          str, float]]:
    """Aliases weigh 3 (plus half a point per extra word), keywords 1; "name:w" sets a weight."""
    out = []
    for entry in raw.get("aliases", []):
        phrase, _, weight = entry.partition(":")
        base = float(weight) if weight else 3.0 + 0.5 * (len(phrase.split()) - 1)
        out.append((style, sub, phrase, base))
    for phrase in raw.get("keywords", []):
        out.append((style, sub, phrase, 1.0))
    return out


def _without(raw: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k != key}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key (recursively); later values win."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _build(name: str, substyle: str, raw: dict[str, Any]) -> StyleDef:
    """Turn a merged raw table into a :class:`StyleDef`, dropping unknown instruments."""
    ensemble = {role: inst for role, inst in raw["ensemble"].items() if inst in INSTRUMENTS}
    production = _production(raw.get("production", {}))
    melody = raw["melody"]
    return StyleDef(
        name=name, substyle=substyle, bpm=(float(raw["bpm"][0]), float(raw["bpm"][1])),
        mode=raw["mode"], meter=(int(raw["meter"][0]), int(raw["meter"][1])),
        swing=float(raw["swing"]), swing_unit=int(raw["swing_unit"]),
        energy=float(raw["energy"]), mood=raw["mood"], form=raw["form"],
        chord_bars=int(raw["chord_bars"]), keys=tuple(raw["keys"]),
        drums=_tiers(raw["drums"]), fill=raw["fill"], bass=_tiers(raw["bass"]),
        comp=_tiers(raw["comp"]), arp=raw["arp"], pad=raw["pad"], voicing=raw["voicing"],
        melody=MelodyShape(float(melody["density"]), int(melody["low"]), int(melody["high"])),
        ending=dict(raw["ending"]), half=dict(raw["half"]), cadence=dict(raw.get("cadence", {})),
        cues=tuple(raw["cues"]),
        sidechain=bool(raw["sidechain"]), humanize=dict(raw["humanize"]),
        production=production, ensemble=ensemble, mix=dict(raw.get("mix", {})),
        progressions=raw.get("progressions", {}),
    )


def _tiers(value: str | dict[str, str]) -> dict[str, str]:
    """A pattern given once or per energy tier, as a full tier table ("" = silent)."""
    if isinstance(value, str):
        return {tier: value for tier in TIERS}
    return {tier: value.get(tier, "") for tier in TIERS}


def _production(values: dict[str, float]) -> Production:
    """A :class:`Production` from a partial table (unknown keys ignored)."""
    known = {f.name for f in fields(Production)}
    return Production(**{k: float(v) for k, v in values.items() if k in known})


# -------------------------------------------------------------------- instrumentation ---
#: Where a second instrument asked for the same role goes instead.
_SPARE_ROLES = {"chords": ("pad", "counter", "arp"), "melody": ("counter", "arp"),
                "pad": ("counter", "chords"), "arp": ("counter", "pad"),
                "counter": ("arp", "pad")}
#: Instruments that can carry harmony and tune together when they play alone.
_CHORDAL = frozenset({"piano", "electric_piano", "organ", "church_organ", "harpsichord",
                      "acoustic_guitar_nylon", "acoustic_guitar_steel", "electric_guitar_clean",
                      "electric_guitar_muted", "overdrive_guitar", "distortion_guitar", "harp",
                      "marimba", "vibraphone", "celesta", "accordion", "fm_keys", "strings",
                      "synth_pad_warm", "synth_pad_dark", "choir", "gm_pad", "supersaw"})
_NEGATION = re.compile(r"(?<![a-z])(?:no|without|minus|zero|drop the|skip the)\s+"
                       r"(?:the\s+|any\s+)?([a-z0-9]+(?:\s[a-z0-9]+)?)")
_SOLO = re.compile(r"(?<![a-z])(?:solo|only|just|unaccompanied)\s+(?:an?\s+)?([a-z0-9]+"
                   r"(?:\s[a-z0-9]+)?)|([a-z0-9]+(?:\s[a-z0-9]+)?)\s+only(?![a-z])")


def resolve_ensemble(text: str, style: StyleDef) -> tuple[dict[str, str], tuple[str, ...],
                                                          tuple[str, ...], bool]:
    """Role → instrument for a normalized prompt: the style's band, edited by the words.

    Returns the ensemble, the instruments asked for, what was excluded and whether the prompt
    asked for a solo instrument ("solo piano", "piano only").
    """
    text, excluded = _exclusions(text)
    solo = _solo_instruments(text)
    wanted = _mentioned_instruments(text)
    ensemble = _solo_ensemble(solo) if solo else _with_wanted(dict(style.ensemble), wanted)
    ensemble = _without_excluded(ensemble, excluded)
    if not ensemble:
        ensemble = {"chords": "piano", "melody": "piano"}
    names = tuple(dict.fromkeys(_family_pick(i, style.ensemble) for i, _ in wanted))
    return ensemble, names, tuple(excluded), bool(solo)


def _lookup(phrase: str) -> tuple[str, str] | None:
    """The (instrument or @family, role) a phrase names, trying the longest reading first."""
    table = load_data("vocabulary")["instruments"]
    words = phrase.split()
    for size in range(len(words), 0, -1):
        for start in range(0, len(words) - size + 1):
            candidate = " ".join(words[start:start + size])
            for form in (candidate, candidate.rstrip("s")):
                if form in table:
                    return str(table[form][0]), str(table[form][1])
    return None


def _exclusions(text: str) -> tuple[str, list[str]]:
    """Remove "no drums"-style phrases from the text; return what they excluded."""
    excluded: list[str] = []
    roles = load_data("vocabulary")["role_words"]
    for match in _NEGATION.finditer(text):
        words = match.group(1).split()
        if words[0] in roles:
            excluded.append("role:" + roles[words[0]])
        elif (found := _lookup(match.group(1))) is not None:
            excluded.append(found[0])
        else:
            continue
        text = text.replace(match.group(0), " ")
    if re.search(r"(?<![a-z])(drumless|beatless|no percussion)(?![a-z])", text):
        excluded.append("role:drums")
    return text, excluded


def _solo_instruments(text: str) -> list[tuple[str, str]]:
    found = []
    for match in _SOLO.finditer(text):
        hit = _lookup(match.group(1) or match.group(2))
        if (hit is not None and not hit[0].startswith("@")) or (hit and hit[0] == "@keys"):
            found.append(hit)
    return found


def _mentioned_instruments(text: str) -> list[tuple[str, str]]:
    """Instrument phrases in order of appearance, longer phrases hiding the words inside."""
    table = load_data("vocabulary")["instruments"]
    hits: list[tuple[int, str, str]] = []
    taken = text
    for phrase in sorted(table, key=lambda p: -len(p)):
        pattern = re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])")
        for match in pattern.finditer(taken):
            hits.append((match.start(), str(table[phrase][0]), str(table[phrase][1])))
        taken = pattern.sub(lambda m: " " * len(m.group(0)), taken)
    return [(inst, role) for _, inst, role in sorted(hits)]


def _family_pick(instrument: str, ensemble: dict[str, str]) -> str:
    """A concrete instrument for "@family": the style's own member, else the family's first."""
    if not instrument.startswith("@"):
        return instrument
    members = load_data("vocabulary")["families"][instrument[1:]]
    for member in members:
        if member in ensemble.values():
            return str(member)
    return str(members[0])


def _with_wanted(ensemble: dict[str, str], wanted: list[tuple[str, str]]) -> dict[str, str]:
    """Put each wanted instrument in its role (or a spare one) unless the band already has it."""
    chosen: set[str] = set()
    for instrument, role in wanted:
        concrete = _family_pick(instrument, ensemble)
        if concrete in ensemble.values():
            chosen.update(r for r, i in ensemble.items() if i == concrete)
            continue
        for target in (role, *_SPARE_ROLES.get(role, ())):
            if target not in chosen:
                ensemble[target] = concrete
                chosen.add(target)
                break
    return ensemble


def _solo_ensemble(solo: list[tuple[str, str]]) -> dict[str, str]:
    """Only the named instruments: chordal ones take harmony and tune, others their role."""
    ensemble: dict[str, str] = {}
    for instrument, role in solo:
        concrete = _family_pick(instrument, {})
        if concrete in _CHORDAL:
            ensemble.setdefault("chords", concrete)
            ensemble.setdefault("melody", concrete)
        else:
            ensemble.setdefault(role, concrete)
    return ensemble


def _without_excluded(ensemble: dict[str, str], excluded: list[str]) -> dict[str, str]:
    families = load_data("vocabulary")["families"]
    banned: set[str] = set()
    for item in excluded:
        banned.update(families[item[1:]] if item.startswith("@") else [item])
    roles = {item[5:] for item in excluded if item.startswith("role:")}
    return {r: i for r, i in ensemble.items() if r not in roles and i not in banned}
