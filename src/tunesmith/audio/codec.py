"""Reading and writing audio files: MP3 out (pedalboard's LAME), exact lengths in (mutagen).

MP3 decoders pad the start and end of a stream; the LAME header written by the encoder records
that padding, and :func:`duration_seconds` reads it so the reported length is the real one.

Tracks are encoded on :data:`ENCODER_THREADS` threads: pedalboard splits the audio into
frame-aligned pieces, encodes them at once and splices the frames (the bit reservoir off, so
every frame stands alone). The audio is padded to whole frames first, so its length
would read up to 38 ms long; :func:`_record_padding` adds that padding to the LAME header
(and fixes the header's checksum), and the length is exact again.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from mutagen import MutagenError
from mutagen.mp3 import MP3
from pedalboard.io import AudioFile

SAMPLE_RATE = 44100
MP3_BITRATE_KBPS = 192
ENCODER_THREADS = 2  # the two cores a worker has; 1 encodes in one piece
MP3_FRAME = 1152  # samples per MPEG-1 Layer III frame
DECODER_DELAY = 529  # samples every MP3 decoder outputs late (the synthesis filterbank)


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
              bitrate_kbps: int = MP3_BITRATE_KBPS, threads: int = ENCODER_THREADS) -> Path:
    """Encode ``audio`` (mono or stereo float, -1..1) to a constant-bitrate stereo MP3."""
    data = as_channels_first(audio)
    if data.shape[0] == 1:
        data = np.repeat(data, 2, axis=0)
    n = data.shape[1]
    if threads > 1:
        # Room for the decoder's delay, then whole frames: every sample decodes.
        frames = -(-(n + DECODER_DELAY) // MP3_FRAME)
        padded = np.zeros((2, frames * MP3_FRAME), dtype=np.float32)
        np.clip(data, -1.0, 1.0, out=padded[:, :n])
        del audio, data  # a caller that handed over its only reference gets the memory back
        encoded = AudioFile.encode(padded, sample_rate, "mp3", 2, quality=bitrate_kbps,
                                   num_threads=threads)
        del padded
        encoded = _record_padding(encoded, extra=frames * MP3_FRAME - n)
    else:
        with io.BytesIO() as buffer:
            with AudioFile(buffer, "w", sample_rate, 2, format="mp3",
                           quality=bitrate_kbps) as out:
                out.write(np.clip(data, -1.0, 1.0))
            encoded = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded)
    return path


def _record_padding(mp3: bytes, extra: int) -> bytes:
    """Count ``extra`` more samples of end padding in the LAME header, and fix its CRC.

    The LAME header sits in the first (Info) frame: 21 bytes after its "LAME" version string
    are 12 bits of encoder delay and 12 of end padding, and the header's CRC-16 covers the
    frame's first 190 bytes. Without such a header the stream is returned as it is.
    """
    info = mp3.find(b"Info", 0, 200)
    lame = mp3.find(b"LAME", info, info + 200) if info >= 0 else -1
    start = mp3.rfind(b"\xff", 0, info)
    if lame < 0 or start < 0 or lame + 36 > len(mp3) or lame + 36 - start != 192:
        return mp3
    tag = bytearray(mp3[start : lame + 36])
    at = lame - start + 21
    padding = ((tag[at + 1] & 0x0F) << 8 | tag[at + 2]) + extra
    if padding >= 4096:
        return mp3
    tag[at + 1] = (tag[at + 1] & 0xF0) | padding >> 8
    tag[at + 2] = padding & 0xFF
    tag[190:] = _crc16(bytes(tag[:190])).to_bytes(2, "big")
    return mp3[:start] + bytes(tag) + mp3[lame + 36 :]


def _crc16(data: bytes) -> int:
    """CRC-16 (polynomial 0x8005, reflected), the checksum of the LAME header."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def duration_seconds(path: Path) -> float:
    """The playing length of an audio file in seconds, encoder padding excluded."""
    if path.suffix.lower() == ".mp3":
        try:
            return _mp3_length(path)
        except MutagenError as exc:
            raise AudioFormatError(f"{path.name} is not a readable MP3: {exc}") from exc
    with AudioFile(str(path)) as f:
        return f.frames / f.samplerate


def _mp3_length(path: Path) -> float:
    """Seconds of an MP3 by its header (mutagen raises on a file with no MPEG frame)."""
    info = MP3(str(path)).info
    if info is None:
        raise AudioFormatError(f"{path.name} is not a readable MP3: no MPEG stream info")
    return float(info.length)


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
    wanted = round(_mp3_length(path) * rate)
    delay = 0
    header = path.read_bytes()[:4096]
    at = header.find(b"LAME")
    if at >= 0 and at + 24 <= len(header):
        b = header[at + 21 : at + 24]
        delay = ((b[0] << 4) | (b[1] >> 4)) + 529  # LAME's delay plus the decoder's 529 samples
    start = min(delay, max(0, audio.shape[1] - wanted))
    return np.ascontiguousarray(audio[:, start : start + wanted])
