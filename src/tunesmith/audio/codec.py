"""Reading and writing audio files: MP3 out (pedalboard's LAME), exact lengths in (mutagen).

MP3 decoders pad the start and end of a stream; the LAME header written by the encoder records
that padding, and :func:`duration_seconds` reads it so the reported length is the real one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mutagen import MutagenError
from mutagen.mp3 import MP3
from pedalboard.io import AudioFile

SAMPLE_RATE = 44100
MP3_BITRATE_KBPS = 192


class AudioFormatError(ValueError):
    """The file is not audio this project can read."""


def as_channels_first(audio: np.ndarray) -> np.ndarray:
    """Return float32 audio shaped (channels, samples) from (n,), (n, ch) or (ch, n)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        return audio[np.newaxis, :]
    if audio.shape[0] > audio.shape[1]:
        return np.ascontiguousarray(audio.T)
    return audio


def write_mp3(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE,
              bitrate_kbps: int = MP3_BITRATE_KBPS) -> Path:
    """Encode ``audio`` (mono or stereo float, -1..1) to a constant-bitrate stereo MP3."""
    data = as_channels_first(audio)
    if data.shape[0] == 1:
        data = np.repeat(data, 2, axis=0)
    data = np.clip(data, -1.0, 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with AudioFile(str(path), "w", sample_rate, 2, quality=bitrate_kbps) as out:
        out.write(data)
    return path


def duration_seconds(path: Path) -> float:
    """The playing length of an audio file in seconds, encoder padding excluded."""
    if path.suffix.lower() == ".mp3":
        try:
            return float(MP3(str(path)).info.length)
        except MutagenError as exc:
            raise AudioFormatError(f"{path.name} is not a readable MP3: {exc}") from exc
    with AudioFile(str(path)) as f:
        return f.frames / f.samplerate


def read_audio(path: Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Decode a file to float32 (channels, samples), trimmed to its real length."""
    try:
        with AudioFile(str(path)) as f:
            rate = int(f.samplerate)
            audio = f.read(f.frames)
    except (OSError, ValueError) as exc:
        raise AudioFormatError(f"{path.name} is not readable audio: {exc}") from exc
    if path.suffix.lower() == ".mp3":
        audio = _trim_mp3_padding(path, audio, rate)
    if sample_rate and sample_rate != rate:
        from scipy.signal import resample_poly

        g = np.gcd(rate, sample_rate)
        audio = resample_poly(audio, sample_rate // g, rate // g, axis=1).astype(np.float32)
        rate = sample_rate
    return audio, rate


def _trim_mp3_padding(path: Path, audio: np.ndarray, rate: int) -> np.ndarray:
    """Drop the encoder delay at the start and the padding at the end (LAME header)."""
    info = MP3(str(path)).info
    wanted = round(info.length * rate)
    delay = 0
    header = path.read_bytes()[:4096]
    at = header.find(b"LAME")
    if at >= 0 and at + 24 <= len(header):
        b = header[at + 21 : at + 24]
        delay = ((b[0] << 4) | (b[1] >> 4)) + 529  # LAME's delay plus the decoder's 529 samples
    start = min(delay, max(0, audio.shape[1] - wanted))
    return np.ascontiguousarray(audio[:, start : start + wanted])
