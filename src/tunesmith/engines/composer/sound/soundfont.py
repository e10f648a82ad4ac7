"""General MIDI voices and acoustic drum kits from a SoundFont, through tinysoundfont.

Notes are rendered one at a time, each from silence, and cached by :mod:`render` like the
synthesised ones: a song repeats its notes, so a few hundred renders cover thousands of
notes, and the GIL-holding synthesiser runs for a fraction of the song's length. The
SoundFont is chosen once per path: the best General MIDI bank installed on the machine, or
the small one that ships inside ``pretty_midi``.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np
from tinysoundfont import _tinysoundfont as tsf

from tunesmith.audio.loudness import peak_magnitude
from tunesmith.engines.composer.score import SAMPLE_RATE

SR = SAMPLE_RATE
DRUM_BANK = 128
_CHUNK = 4096  # samples per render call while waiting for a release tail to die away
_SILENCE = 1e-4  # -80 dBFS: a tail below this is over
_MAX_TAIL_S = 3.0
_TAIL_FLOOR = 1e-3  # -60 dB under the note's peak: inaudible in a mix
_VOICES = 64
_FLUSH = 2048  # samples that outlast tinysoundfont's quick release after reset()

#: Where Debian/Ubuntu packages put General MIDI SoundFonts, best first.
SYSTEM_SOUNDFONTS: tuple[Path, ...] = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/MuseScore_General.sf2"),
    Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),
    Path("/usr/share/sounds/sf2/MuseScore_General.sf3"),
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
)

_lock = threading.Lock()  # one tinysoundfont instance is not safe to share between threads


def bundled_soundfont() -> Path:
    """The TimGM6mb SoundFont shipped inside the pretty_midi package."""
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def soundfont_path(override: str | Path | None = None) -> Path:
    """The SoundFont in use: ``override`` if it exists, else the best installed, else bundled."""
    if override is not None and Path(override).is_file():
        return Path(override)
    for candidate in SYSTEM_SOUNDFONTS:
        if candidate.is_file():
            return candidate
    return bundled_soundfont()


@functools.lru_cache(maxsize=2)
def _load(path: str) -> tsf.SoundFont:
    """Parse a SoundFont once per process (FluidR3 is 140 MB)."""
    font = tsf.SoundFont(path)
    font.set_output(tsf.OutputMode.StereoInterleaved, SR, 0.0)
    font.set_max_voices(_VOICES)
    return font


def _select(font: tsf.SoundFont, bank: int, program: int, drums: bool) -> None:
    """Point channel 0 at a preset, falling back to the bank's first preset when missing."""
    if font.get_preset_index(bank, program) < 0:
        program = 0
    if font.get_preset_index(bank, program) < 0:
        bank = 0 if not drums else DRUM_BANK
    font.channel_set_bank(0, bank)
    font.channel_set_preset_number(0, program, drums)


def _render(font: tsf.SoundFont, frames: int) -> bytearray:
    """Render ``frames`` stereo frames: interleaved float32 samples."""
    buffer = bytearray(frames * 8)
    font.render(memoryview(buffer), False)
    return buffer


def _tail(font: tsf.SoundFont) -> list[bytearray]:
    """Render the release until it falls below -80 dBFS (or a cap)."""
    chunks: list[bytearray] = []
    for _ in range(int(_MAX_TAIL_S * SR / _CHUNK)):
        chunk = _render(font, _CHUNK)
        chunks.append(chunk)
        if peak_magnitude(np.frombuffer(chunk, dtype=np.float32)) < _SILENCE * 10:
            break
    return chunks


def render_note(
    path: Path,
    bank: int,
    program: int,
    pitch: int,
    duration: float,
    velocity: int,
    drums: bool = False,
) -> np.ndarray:
    """One note from silence through its release: float32 (2, samples), faded to zero."""
    held = max(round(duration * SR), 32)
    with _lock:
        font = _load(str(path))
        # reset() only starts a quick release of old voices; rendering it away gives every
        # note the same silent start, so renders are reproducible.
        font.reset()
        _render(font, _FLUSH)
        _select(font, DRUM_BANK if drums else bank, program, drums)
        font.channel_note_on(0, int(np.clip(pitch, 0, 127)), max(velocity, 1) / 127.0)
        chunks = [_render(font, held)]
        font.channel_note_off(0, int(np.clip(pitch, 0, 127)))
        chunks += _tail(font)
    # Channels first and each channel contiguous: reductions over an interleaved (2, n)
    # view run pair by pair, ten times slower than over whole rows.
    interleaved = np.frombuffer(b"".join(chunks), dtype=np.float32)
    return _trim_silence(np.ascontiguousarray(interleaved.reshape(-1, 2).T))


def _trim_silence(audio: np.ndarray) -> np.ndarray:
    """Cut the end once it is 60 dB under the note's peak, fading the last few milliseconds."""
    level = np.maximum(np.abs(audio[0]), np.abs(audio[1]))
    floor = max(_SILENCE, float(level.max(initial=0.0)) * _TAIL_FLOOR)
    loud = np.flatnonzero(level > floor)
    end = int(loud[-1]) + 1 if loud.size else 64
    audio = np.array(audio[:, : max(end, 64)], dtype=np.float32)
    fade = min(128, audio.shape[1] // 2)
    audio[:, audio.shape[1] - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return audio


def preset_name(path: Path, bank: int, program: int) -> str | None:
    """The SoundFont's name for a preset, or None when it has none."""
    with _lock:
        name = _load(str(path)).get_preset_name(bank, program)
    return None if name in (None, "<None>") else str(name)
