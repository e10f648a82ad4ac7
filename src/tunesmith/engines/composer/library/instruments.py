"""Instruments, loaded from ``data/instruments.toml``: how each is played, where it sits in
the mix, and the range a line written for it keeps to, all in one table per instrument.

A melodic voice is either a :class:`SynthPatch` (played by ``sound/synth.py``) or a
:class:`GmProgram` (played from a SoundFont); a kit is a :class:`Kit`, synthesised (a kit in
``data/kits.toml``) or a SoundFont drum preset. Adding an instrument is adding a table to the
TOML file; a value of the wrong shape is refused here, naming the file and the key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from . import DataError, data_dir_now, load_data

Wave = Literal["saw", "square", "pulse", "triangle", "sine", "supersaw", "fm", "noise"]


@dataclass(frozen=True)
class SynthPatch:
    """A subtractive/FM voice: oscillators, 24 dB low-pass with envelope and LFO, amp ADSR."""

    wave: Wave
    voices: int = 1  # unison voices (supersaw and fat leads)
    detune_cents: float = 0.0  # spread of the outermost unison voices
    stereo_spread: float = 0.0  # 0 mono .. 1 unison voices panned hard
    mix_wave: Wave | None = None  # a second oscillator mixed in
    mix_level: float = 0.0
    mix_octave: int = 0
    sub_level: float = 0.0  # sine one octave down (mono, keeps the low end centred)
    pulse_width: float = 0.5
    octave: int = 0
    cutoff_hz: float = 18000.0
    resonance: float = 0.0  # 0..1
    key_track: float = 0.5  # how far the cutoff follows pitch (1 = fully)
    filter_env_octaves: float = 0.0
    filter_decay: float = 0.3
    velocity_to_cutoff: float = 1.0  # octaves at full velocity range
    lfo_hz: float = 0.0  # free LFO on the cutoff
    lfo_beats: float = 0.0  # tempo-synced LFO period in beats (wobble); wins over lfo_hz
    lfo_octaves: float = 0.0
    attack: float = 0.003
    decay: float = 0.2
    sustain: float = 1.0
    release: float = 0.08
    pitch_drop_semitones: float = 0.0  # 808-style start above the note, falling
    pitch_drop_time: float = 0.05
    slide_time: float = 0.0  # legato glide from the previous note (acid, leads)
    vibrato_cents: float = 0.0
    vibrato_hz: float = 5.5
    vibrato_delay: float = 0.25
    drive: float = 0.0  # tanh saturation after the filter
    fm_ratio: float = 1.0
    fm_index: float = 0.0
    fm_decay: float = 0.5
    fm_tine_ratio: float = 0.0  # a short high modulator for the electric-piano "tine"
    bit_depth: int = 0  # chiptune amplitude steps (0 = smooth)
    mono: bool = False  # one note at a time: a new note cuts the last


@dataclass(frozen=True)
class GmProgram:
    """A General MIDI program (0-based) in a bank of the SoundFont."""

    program: int
    bank: int = 0


@dataclass(frozen=True)
class Kit:
    """A drum kit: synthesised (``synth`` names a kit in :mod:`drumkit`) or a GM drum preset."""

    engine: Literal["synth", "gm"]
    name: str = ""
    preset: int = 0


@dataclass(frozen=True)
class MixSettings:
    """Where an instrument sits before the arrangement's own gain and pan."""

    trim_db: float = 0.0
    highpass_hz: float = 120.0  # keeps the low end for bass and kick
    lowpass_hz: float = 20000.0
    presence_db: float = 0.0  # peak around 3 kHz: forward (+) or soft (-)
    drive: float = 0.0  # extra saturation on the part (808, rock bass)


Voice = SynthPatch | GmProgram | Kit


@dataclass(frozen=True)
class Instrument:
    """One catalogue entry."""

    voice: Voice
    mix: MixSettings = field(default_factory=MixSettings)


Kind = Literal["synth", "gm", "kit"]
DEFAULT_RANGE = (36, 96)
_DEFAULT_ROLE_DB = -20.0


@dataclass(frozen=True)
class Catalogue:
    """Every instrument of one data folder, with the mix levels of the roles."""

    instruments: dict[str, Instrument]
    kinds: dict[str, Kind]
    ranges: dict[str, tuple[int, int]]
    role_levels: dict[str, float]

    def instrument(self, name: str) -> Instrument:
        """The entry for ``name``; unknown names fall back to the piano."""
        return self.instruments.get(name, self.instruments["piano"])

    def role_level_db(self, role: str) -> float:
        """How loud a role sits in the mix, dB RMS (``role_levels``; -20 when unlisted)."""
        return self.role_levels.get(role, _DEFAULT_ROLE_DB)


def instrument(name: str) -> Instrument:
    """The entry for ``name`` in the library's instruments; unknown names play the piano."""
    return catalogue().instrument(name)


def catalogue(data_dir: Path | None = None) -> Catalogue:
    """The instruments of ``data_dir`` (the library's folder by default), read once."""
    return _catalogue(data_dir or data_dir_now())


@cache
def _catalogue(data_dir: Path) -> Catalogue:
    table = load_data("instruments", data_dir)
    where = data_dir / "instruments.toml"
    presets = {name: _record(MixSettings, raw, where, f"mix_presets.{name}")
               for name, raw in table.get("mix_presets", {}).items()}
    instruments: dict[str, Instrument] = {}
    kinds: dict[str, Kind] = {}
    ranges: dict[str, tuple[int, int]] = {}
    for name, raw in table.get("instruments", {}).items():
        key = f"instruments.{name}"
        kinds[name] = _kind(raw, where, key)
        instruments[name] = Instrument(_voice(kinds[name], name, raw, where, key),
                                       _mix(raw.get("mix"), presets, where, key))
        if "range" in raw:
            ranges[name] = _range(raw["range"], where, key)
    if "piano" not in instruments:
        raise DataError(f"{where}: [instruments.piano] is missing (unknown names fall back to it)")
    levels = {role: float(db) for role, db in table.get("role_levels", {}).items()}
    return Catalogue(instruments, kinds, ranges, levels)


def _kind(raw: dict[str, Any], where: Path, key: str) -> Kind:
    kind = raw.get("kind")
    if kind == "synth" or kind == "gm" or kind == "kit":
        return kind
    raise DataError(f'{where}: {key}.kind must be "synth", "gm" or "kit", not {kind!r}')


def _voice(kind: Kind, name: str, raw: dict[str, Any], where: Path, key: str) -> Voice:
    if kind == "synth":
        if not isinstance(raw.get("patch"), dict):
            raise DataError(f"{where}: {key}.patch is missing (a synth needs its patch table)")
        return _record(SynthPatch, raw["patch"], where, f"{key}.patch")
    if kind == "gm":
        if not isinstance(raw.get("program"), int):
            raise DataError(f"{where}: {key}.program must be a General MIDI program number")
        return GmProgram(raw["program"], int(raw.get("bank", 0)))
    if "kit" in raw:
        return Kit("synth", str(raw["kit"]))
    if not isinstance(raw.get("preset"), int):
        raise DataError(f'{where}: {key} needs kit = "<a kit in kits.toml>" '
                        "or preset = <a SoundFont drum preset>")
    return Kit("gm", preset=raw["preset"])


def _mix(raw: Any, presets: dict[str, MixSettings], where: Path, key: str) -> MixSettings:
    if raw is None:
        return MixSettings()
    if isinstance(raw, str):
        if raw not in presets:
            raise DataError(f"{where}: {key}.mix names no preset in [mix_presets]: {raw!r}")
        return presets[raw]
    return _record(MixSettings, raw, where, f"{key}.mix")


def _range(raw: Any, where: Path, key: str) -> tuple[int, int]:
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(p, int) for p in raw)
            and raw[0] <= raw[1]):
        raise DataError(f"{where}: {key}.range must be [lowest, highest] MIDI pitches")
    return raw[0], raw[1]


def _record(cls: type[Any], raw: Any, where: Path, key: str) -> Any:
    """``cls`` built from a TOML table, refusing fields it does not have."""
    if not isinstance(raw, dict):
        raise DataError(f"{where}: {key} must be a table")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise DataError(f"{where}: {key} has no field {', '.join(unknown)} "
                        f"(known: {', '.join(sorted(known))})")
    try:
        return cls(**raw)
    except TypeError as exc:
        raise DataError(f"{where}: {key}: {exc}") from exc
