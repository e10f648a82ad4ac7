"""The instrument catalogue: how every name in :data:`score.INSTRUMENTS` is played and mixed.

Pure data. A melodic voice is either a :class:`SynthPatch` (played by :mod:`synth`) or a
:class:`GmProgram` (played from a SoundFont by :mod:`soundfont`); a kit is a :class:`Kit`,
synthesised (:mod:`drumkit`) or a SoundFont drum bank. :class:`MixSettings` holds where the
instrument sits before the arranger's own gain and pan: level trim, high-pass, tone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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


_BASS = MixSettings(highpass_hz=28.0)
_BRIGHT = MixSettings(highpass_hz=150.0, presence_db=1.0)
_PAD = MixSettings(highpass_hz=180.0, trim_db=-1.0, presence_db=-1.5)
_KEYS = MixSettings(highpass_hz=90.0)

#: Every instrument in score.INSTRUMENTS, how it sounds and where it sits.
CATALOGUE: dict[str, Instrument] = {
    # ---- synthesised melodic voices -------------------------------------------------------
    "synth_lead_saw": Instrument(
        SynthPatch(
            "saw",
            voices=3,
            detune_cents=14,
            stereo_spread=0.35,
            cutoff_hz=2600,
            resonance=0.2,
            filter_env_octaves=1.6,
            filter_decay=0.35,
            attack=0.005,
            decay=0.3,
            sustain=0.8,
            release=0.15,
            slide_time=0.05,
            vibrato_cents=18,
            vibrato_delay=0.3,
            mono=True,
        ),
        _BRIGHT,
    ),
    "synth_lead_square": Instrument(
        SynthPatch(
            "square",
            pulse_width=0.42,
            mix_wave="saw",
            mix_level=0.3,
            cutoff_hz=3200,
            resonance=0.15,
            filter_env_octaves=1.0,
            filter_decay=0.25,
            sustain=0.85,
            release=0.12,
            slide_time=0.04,
            vibrato_cents=15,
            mono=True,
        ),
        _BRIGHT,
    ),
    "synth_pluck": Instrument(
        SynthPatch(
            "saw",
            voices=2,
            detune_cents=10,
            stereo_spread=0.5,
            mix_wave="square",
            mix_level=0.35,
            cutoff_hz=700,
            resonance=0.25,
            filter_env_octaves=3.6,
            filter_decay=0.16,
            attack=0.001,
            decay=0.35,
            sustain=0.0,
            release=0.2,
        ),
        _BRIGHT,
    ),
    "synth_pad_warm": Instrument(
        SynthPatch(
            "supersaw",
            voices=5,
            detune_cents=16,
            stereo_spread=0.8,
            cutoff_hz=1300,
            resonance=0.15,
            key_track=0.3,
            filter_env_octaves=0.8,
            filter_decay=1.5,
            velocity_to_cutoff=0.4,
            lfo_hz=0.23,
            lfo_octaves=0.45,
            attack=0.6,
            decay=1.0,
            sustain=0.85,
            release=1.3,
        ),
        _PAD,
    ),
    "synth_pad_dark": Instrument(
        SynthPatch(
            "saw",
            voices=4,
            detune_cents=12,
            stereo_spread=0.7,
            mix_wave="triangle",
            mix_level=0.5,
            mix_octave=-1,
            cutoff_hz=650,
            resonance=0.2,
            key_track=0.2,
            velocity_to_cutoff=0.3,
            lfo_hz=0.13,
            lfo_octaves=0.5,
            attack=0.9,
            decay=1.0,
            sustain=0.9,
            release=1.6,
        ),
        _PAD,
    ),
    "supersaw": Instrument(
        SynthPatch(
            "supersaw",
            voices=7,
            detune_cents=30,
            stereo_spread=1.0,
            cutoff_hz=9500,
            resonance=0.1,
            key_track=0.3,
            filter_env_octaves=0.6,
            filter_decay=0.4,
            attack=0.008,
            decay=0.4,
            sustain=0.85,
            release=0.3,
        ),
        MixSettings(highpass_hz=220.0, trim_db=-0.5, presence_db=2.0),
    ),
    "synth_arp": Instrument(
        SynthPatch(
            "pulse",
            pulse_width=0.3,
            mix_wave="saw",
            mix_level=0.4,
            cutoff_hz=1200,
            resonance=0.3,
            filter_env_octaves=2.6,
            filter_decay=0.12,
            attack=0.001,
            decay=0.22,
            sustain=0.15,
            release=0.1,
        ),
        _BRIGHT,
    ),
    "synth_bass_saw": Instrument(
        SynthPatch(
            "saw",
            voices=2,
            detune_cents=8,
            sub_level=0.5,
            cutoff_hz=420,
            resonance=0.25,
            key_track=0.6,
            filter_env_octaves=2.2,
            filter_decay=0.18,
            attack=0.002,
            decay=0.3,
            sustain=0.7,
            release=0.06,
            drive=0.3,
            mono=True,
        ),
        _BASS,
    ),
    "synth_bass_sub": Instrument(
        SynthPatch(
            "sine",
            mix_wave="triangle",
            mix_level=0.15,
            cutoff_hz=900,
            key_track=0.0,
            velocity_to_cutoff=0.0,
            attack=0.004,
            decay=0.2,
            sustain=0.95,
            release=0.08,
            drive=0.15,
            mono=True,
        ),
        _BASS,
    ),
    "reese_bass": Instrument(
        SynthPatch(
            "saw",
            voices=3,
            detune_cents=26,
            stereo_spread=0.3,
            sub_level=0.6,
            cutoff_hz=700,
            resonance=0.2,
            key_track=0.5,
            lfo_hz=0.35,
            lfo_octaves=0.6,
            attack=0.01,
            decay=0.4,
            sustain=0.9,
            release=0.12,
            drive=0.5,
            mono=True,
        ),
        _BASS,
    ),
    "acid_bass": Instrument(
        SynthPatch(
            "saw",
            cutoff_hz=260,
            resonance=0.82,
            key_track=0.5,
            filter_env_octaves=3.4,
            filter_decay=0.17,
            velocity_to_cutoff=1.6,
            attack=0.002,
            decay=0.25,
            sustain=0.6,
            release=0.05,
            slide_time=0.07,
            drive=0.55,
            mono=True,
        ),
        MixSettings(highpass_hz=35.0),
    ),
    "wobble_bass": Instrument(
        SynthPatch(
            "saw",
            voices=2,
            detune_cents=12,
            stereo_spread=0.25,
            mix_wave="square",
            mix_level=0.6,
            sub_level=0.7,
            cutoff_hz=260,
            resonance=0.55,
            key_track=0.3,
            lfo_beats=0.5,
            lfo_octaves=3.6,
            attack=0.005,
            sustain=1.0,
            release=0.08,
            drive=0.7,
            mono=True,
        ),
        _BASS,
    ),
    "bass_808": Instrument(
        SynthPatch(
            "sine",
            cutoff_hz=2400,
            key_track=0.0,
            velocity_to_cutoff=0.0,
            pitch_drop_semitones=12.0,
            pitch_drop_time=0.045,
            attack=0.001,
            decay=1.4,
            sustain=0.55,
            release=0.25,
            slide_time=0.09,
            drive=0.45,
            mono=True,
        ),
        MixSettings(highpass_hz=25.0, trim_db=1.0, drive=0.2),
    ),
    "fm_keys": Instrument(
        SynthPatch(
            "fm",
            fm_ratio=1.0,
            fm_index=1.6,
            fm_decay=0.9,
            fm_tine_ratio=14.0,
            attack=0.002,
            decay=1.6,
            sustain=0.25,
            release=0.35,
        ),
        _KEYS,
    ),
    "fm_bell": Instrument(
        SynthPatch(
            "fm",
            fm_ratio=3.5,
            fm_index=3.0,
            fm_decay=1.2,
            attack=0.001,
            decay=2.4,
            sustain=0.0,
            release=0.9,
        ),
        MixSettings(highpass_hz=250.0, trim_db=-1.5),
    ),
    "drone": Instrument(
        SynthPatch(
            "saw",
            voices=3,
            detune_cents=9,
            stereo_spread=0.6,
            sub_level=0.3,
            cutoff_hz=500,
            resonance=0.25,
            key_track=0.1,
            velocity_to_cutoff=0.0,
            lfo_hz=0.08,
            lfo_octaves=0.8,
            attack=1.5,
            decay=1.0,
            sustain=1.0,
            release=2.0,
        ),
        MixSettings(highpass_hz=60.0),
    ),
    "chip_square": Instrument(
        SynthPatch(
            "square",
            cutoff_hz=12000,
            velocity_to_cutoff=0.0,
            attack=0.001,
            decay=0.1,
            sustain=0.75,
            release=0.03,
            vibrato_cents=25,
            vibrato_hz=6.0,
            vibrato_delay=0.18,
            bit_depth=4,
        ),
        MixSettings(highpass_hz=120.0, trim_db=-1.5),
    ),
    "chip_pulse": Instrument(
        SynthPatch(
            "pulse",
            pulse_width=0.125,
            cutoff_hz=12000,
            velocity_to_cutoff=0.0,
            attack=0.001,
            decay=0.12,
            sustain=0.6,
            release=0.03,
            bit_depth=4,
        ),
        MixSettings(highpass_hz=150.0, trim_db=-2.0),
    ),
    "chip_triangle": Instrument(
        SynthPatch(
            "triangle",
            cutoff_hz=10000,
            velocity_to_cutoff=0.0,
            attack=0.001,
            sustain=1.0,
            release=0.02,
            bit_depth=4,
            mono=True,
        ),
        MixSettings(highpass_hz=30.0),
    ),
    # ---- General MIDI voices (0-based programs) -------------------------------------------
    "piano": Instrument(GmProgram(0), _KEYS),
    "electric_piano": Instrument(GmProgram(4), _KEYS),
    "organ": Instrument(GmProgram(16), MixSettings(highpass_hz=110.0, trim_db=-1.0)),
    "church_organ": Instrument(GmProgram(19), MixSettings(highpass_hz=40.0, trim_db=-1.5)),
    "harpsichord": Instrument(GmProgram(6), _BRIGHT),
    "celesta": Instrument(GmProgram(8), _BRIGHT),
    "vibraphone": Instrument(GmProgram(11), _KEYS),
    "marimba": Instrument(GmProgram(12), _KEYS),
    "acoustic_guitar_nylon": Instrument(GmProgram(24), _KEYS),
    "acoustic_guitar_steel": Instrument(GmProgram(25), _BRIGHT),
    "electric_guitar_clean": Instrument(GmProgram(27), _BRIGHT),
    "electric_guitar_muted": Instrument(GmProgram(28), _BRIGHT),
    "overdrive_guitar": Instrument(GmProgram(29), MixSettings(highpass_hz=110.0, trim_db=-1.5)),
    "distortion_guitar": Instrument(GmProgram(30), MixSettings(highpass_hz=110.0, trim_db=-2.0)),
    "upright_bass": Instrument(GmProgram(32), _BASS),
    "electric_bass": Instrument(GmProgram(33), _BASS),
    "picked_bass": Instrument(GmProgram(34), _BASS),
    "slap_bass": Instrument(GmProgram(36), _BASS),
    "strings": Instrument(GmProgram(48), _PAD),
    "violin": Instrument(GmProgram(40), _BRIGHT),
    "cello": Instrument(GmProgram(42), MixSettings(highpass_hz=55.0)),
    "pizzicato_strings": Instrument(GmProgram(45), _KEYS),
    "harp": Instrument(GmProgram(46), _KEYS),
    "brass_section": Instrument(GmProgram(61), MixSettings(highpass_hz=120.0, trim_db=-1.0)),
    "trumpet": Instrument(GmProgram(56), _BRIGHT),
    "trombone": Instrument(GmProgram(57), MixSettings(highpass_hz=80.0)),
    "french_horn": Instrument(GmProgram(60), MixSettings(highpass_hz=80.0, presence_db=-1.0)),
    "alto_sax": Instrument(GmProgram(65), _BRIGHT),
    "tenor_sax": Instrument(GmProgram(66), _KEYS),
    "flute": Instrument(GmProgram(73), _BRIGHT),
    "clarinet": Instrument(GmProgram(71), _KEYS),
    "choir": Instrument(GmProgram(52), _PAD),
    "harmonica": Instrument(GmProgram(22), _BRIGHT),
    "banjo": Instrument(GmProgram(105), _BRIGHT),
    "fiddle": Instrument(GmProgram(110), _BRIGHT),
    "accordion": Instrument(GmProgram(21), _KEYS),
    "steel_drums": Instrument(GmProgram(114), _BRIGHT),
    "timpani": Instrument(GmProgram(47), MixSettings(highpass_hz=35.0)),
    "gm_pad": Instrument(GmProgram(89), _PAD),
    # ---- drum kits (GM drum presets live in bank 128) -------------------------------------
    "kit_acoustic": Instrument(Kit("gm", preset=0), MixSettings(highpass_hz=30.0)),
    "kit_rock": Instrument(Kit("gm", preset=16), MixSettings(highpass_hz=30.0, drive=0.15)),
    "kit_brush": Instrument(Kit("gm", preset=40), MixSettings(highpass_hz=35.0)),
    "kit_jazz": Instrument(Kit("gm", preset=32), MixSettings(highpass_hz=35.0)),
    "kit_orchestral": Instrument(Kit("gm", preset=48), MixSettings(highpass_hz=30.0)),
    "kit_latin": Instrument(Kit("gm", preset=0), MixSettings(highpass_hz=40.0)),
    "kit_808": Instrument(Kit("synth", "808"), MixSettings(highpass_hz=20.0)),
    "kit_909": Instrument(Kit("synth", "909"), MixSettings(highpass_hz=25.0)),
    "kit_electronic": Instrument(Kit("synth", "electronic"), MixSettings(highpass_hz=25.0)),
    "kit_lofi": Instrument(Kit("synth", "lofi"), MixSettings(highpass_hz=30.0, lowpass_hz=9000.0)),
    "kit_chip": Instrument(Kit("synth", "chip"), MixSettings(highpass_hz=30.0)),
}

#: Loudness of each role in the mix, dB RMS over the span the part plays; the master then
#: sets the overall level, so only the differences matter.
ROLE_LEVEL_DB: dict[str, float] = {
    "drums": -13.0,
    "bass": -15.5,
    "melody": -17.5,
    "vocal": -16.5,
    "counter": -20.5,
    "chords": -19.5,
    "pad": -21.5,
    "arp": -21.5,
    "fx": -24.0,
}

#: GM drum keys that trigger sidechain ducking.
KICK_KEYS: frozenset[int] = frozenset({35, 36})


def instrument(name: str) -> Instrument:
    """The catalogue entry for ``name``; unknown names fall back to the piano."""
    return CATALOGUE.get(name, CATALOGUE["piano"])
