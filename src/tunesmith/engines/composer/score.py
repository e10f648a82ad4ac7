"""The score: what the arranger writes and the renderer plays.

This is the one contract between the two halves of the composer:

* the ``writing`` wing (``prompt`` + ``styles`` + ``arrange`` + ``song``) turns a text prompt,
  a duration and a seed into a :class:`Score` (all musical decisions, timing already swung and
  humanised, in seconds);
* the ``sound`` wing (``render`` + ``mix`` + ``master``) turns a :class:`Score` into a mastered
  stereo signal (all sound decisions: synthesis, SoundFont, effects, loudness).

Neither wing imports the other; both may import this module, :mod:`library` and
:mod:`phonemes`.

Instrument names are the closed vocabulary in :data:`INSTRUMENTS`; drum parts use General MIDI
percussion key numbers (:data:`GM_DRUMS`) whatever kit plays them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from tunesmith.engines.composer.library.instruments import Kind, catalogue
from tunesmith.engines.composer.midi import GM_DRUMS as GM_DRUMS

SAMPLE_RATE = 44100

#: The names of the sung parts: the lead, its harmony and the backing choir (the sound wing
#: double-tracks the lead and seats all three over the band).
LEAD, HARMONY, BACKING = "vocals", "harmony_vocals", "backing_vocals"

#: Every instrument the renderer can play, and its kind: ``synth`` voices are synthesised
#: with numpy; ``gm`` voices are General MIDI programs played from a SoundFont; ``kit`` voices
#: play drum parts (GM key numbers), synthesised or SoundFont drum kits. Read from
#: ``data/instruments.toml``, where all else about each instrument lives too.
INSTRUMENTS: dict[str, Kind] = catalogue().kinds

#: General MIDI percussion keys used by drum parts.

Role = Literal["melody", "chords", "bass", "drums", "pad", "arp", "counter", "vocal", "fx"]


@dataclass(frozen=True)
class Note:
    """One note: onset and length in seconds, MIDI pitch (GM key for drums), velocity 1..127."""

    start: float
    duration: float
    pitch: int
    velocity: int = 100
    #: The syllable sung on this note (vocal parts only); "" continues the previous syllable.
    lyric: str | None = None


@dataclass
class Part:
    """One instrument's line and where it sits in the mix."""

    name: str
    instrument: str
    role: Role
    notes: list[Note] = field(default_factory=list)
    gain_db: float = 0.0
    pan: float = 0.0  # -1 left .. +1 right
    reverb: float = 0.2  # send level 0..1
    delay: float = 0.0  # send level 0..1
    #: Ducked by the kick (sidechain pumping) when the production asks for it.
    sidechain: bool = False


@dataclass(frozen=True)
class Section:
    """A span of the form: ``name`` is intro/verse/pre_chorus/chorus/bridge/breakdown/drop/
    build/solo/outro; ``energy`` 0..1 drives density and brightness."""

    name: str
    start: float
    end: float
    bars: int
    energy: float


@dataclass(frozen=True)
class Cue:
    """A production gesture across a span: riser, impact, downlifter, filter_sweep, tape_stop."""

    kind: Literal["riser", "impact", "downlifter", "filter_sweep", "tape_stop"]
    start: float
    end: float
    amount: float = 1.0


@dataclass(frozen=True)
class Production:
    """How the style is mixed and mastered; all amounts 0..1 unless said otherwise."""

    reverb_size: float = 0.4
    reverb_mix: float = 0.15
    delay_beats: float = 0.75  # delay time in beats for delay sends
    sidechain: float = 0.0  # depth of kick ducking
    saturation: float = 0.1
    brightness: float = 0.0  # -1 dark .. +1 bright tilt
    width: float = 0.6  # stereo width
    compression: float = 0.4
    lofi: float = 0.0  # tape wobble, vinyl crackle, bit reduction
    vinyl: float = 0.0  # crackle and hiss level (0 unless lo-fi/vinyl asked)
    target_lufs: float = -14.0
    true_peak_db: float = -1.0


@dataclass
class Score:
    """A complete arrangement, ready to render; ``duration`` is the exact track length."""

    style: str
    substyle: str
    bpm: float
    key: str  # tonic name, e.g. "D", "F#", "Bb"
    mode: str  # "major", "minor", "dorian", "mixolydian", ...
    time_signature: tuple[int, int]
    duration: float
    sections: list[Section]
    parts: list[Part]
    production: Production = field(default_factory=Production)
    cues: list[Cue] = field(default_factory=list)
    swing: float = 0.0  # 0 straight .. 1 full triplet swing (already applied to note times)
    mood: str = ""
    energy: float = 0.5

    @property
    def playing(self) -> list[Part]:
        """The parts that have notes, in score order: the ones that sound."""
        return [p for p in self.parts if p.notes]

    def plan(self) -> dict[str, Any]:
        """The interpretation returned with the track."""
        return {
            "style": self.style,
            "substyle": self.substyle,
            "bpm": round(self.bpm, 2),
            "key": f"{self.key} {self.mode}",
            "time_signature": f"{self.time_signature[0]}/{self.time_signature[1]}",
            "swing": round(self.swing, 2),
            "mood": self.mood,
            "instruments": sorted({p.instrument for p in self.playing}),
            "sections": [
                {"name": s.name, "start": round(s.start, 3), "end": round(s.end, 3), "bars": s.bars}
                for s in self.sections
            ],
        }
