"""MiniMax Music 3 on the operator's own SGLang-Omni server (MiniMax's self-host recipe).

One track is one OpenAI-style ``POST /v1/audio/speech``: ``input`` = the lyrics (the model
always sings; our lyricist writes them when the caller sent none), ``instructions`` = the
prompt as the caption, ``seed``, and ``max_new_tokens`` = the frames to generate at 25 per
second; the answer is a WAV. The model may end a song early, so it is asked for a little
more than the length and the track is cut to it exactly (or refused when it came back short),
then mastered and encoded like every other track.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import httpx
import numpy as np
import soundfile

from tunesmith.audio.codec import duration_seconds
from tunesmith.config import Settings
from tunesmith.engines import upstream
from tunesmith.engines.base import (
    Capabilities,
    EngineInputError,
    GenerationRequest,
    Progress,
    Track,
)
from tunesmith.engines.neural import composer_parts
from tunesmith.engines.neural.finish import finish
from tunesmith.engines.upstream import BAD_AUDIO, TIMED_OUT, UNREACHABLE, with_retries

FRAMES_PER_SECOND = 25
MAX_FRAMES = 9000  # six minutes, the model's limit
MARGIN_SECONDS = 1.0
#: About real time on one good GPU (MiniMax quotes 1.35x on an RTX 5090), for progress.
EXPECTED_SECONDS_PER_SECOND = 1.0

CAPABILITIES = Capabilities(
    lyrics=True, instrumental=False, min_duration_seconds=5, max_duration_seconds=240,
    exact_duration=True,
    description="MiniMax Music 3 on this operator's SGLang-Omni server: sings your lyrics (or "
    "lyrics written for the prompt); no instrumental mode; honours duration_seconds exactly.")


class SGLangOmniEngine:
    """``sglang/minimax-music-3``: the speech route of an SGLang-Omni server."""

    model_id = "sglang/minimax-music-3"
    capabilities = CAPABILITIES

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url = f"{(settings.sglang_omni_url or '').rstrip('/')}/v1/audio/speech"
        self.http = upstream.http_client(settings)

    def unavailable_reason(self) -> str | None:
        return None if self.settings.sglang_omni_url else "set TUNESMITH_SGLANG_OMNI_URL"

    def generate(self, request: GenerationRequest, progress: Progress, workdir: Path) -> Track:
        """Lyrics if needed, one speech call, then the exact-length master in ``workdir``."""
        if request.instrumental:
            raise EngineInputError("MiniMax Music 3 always sings: send lyrics (or none, and "
                                   "lyrics are written for you) without instrumental")
        lyrics = request.lyrics
        if lyrics is None:
            progress(0.02, "writing lyrics")
            lyrics = composer_parts.write_lyrics(request.prompt, request.seed,
                                                 request.duration_seconds)
        body = speech_body(request, lyrics, self.settings.sglang_omni_model)
        progress(0.05, "generating")
        expected = max(10.0, request.duration_seconds * EXPECTED_SECONDS_PER_SECOND)
        wav = upstream.wait_with_progress(lambda: with_retries(lambda: self._speech(body)),
                                          progress, 0.05, 0.88, "generating", expected)
        progress(0.9, "mastering")
        audio, rate = read_wav(wav)
        path = finish(audio, rate, request.duration_seconds, workdir / "track.mp3")
        return Track(path=path, duration_seconds=duration_seconds(path), seed=request.seed,
                     lyrics=lyrics, plan={})

    def _speech(self, body: dict[str, object]) -> bytes:
        headers = {"Accept": "audio/wav"}
        if self.settings.sglang_omni_api_key:
            headers["Authorization"] = f"Bearer {self.settings.sglang_omni_api_key}"
        try:
            response = self.http.post(self.url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise TIMED_OUT.error() from exc
        except httpx.TransportError as exc:
            raise UNREACHABLE.error() from exc
        if response.status_code >= 400:
            raise upstream.http_failure(response)
        if len(response.content) > upstream.MAX_AUDIO_BYTES:
            raise BAD_AUDIO.error()
        return response.content


def speech_body(request: GenerationRequest, lyrics: str, model: str) -> dict[str, object]:
    """The ``/v1/audio/speech`` body: lyrics in, the caption as instructions, frames out."""
    frames = math.ceil((request.duration_seconds + MARGIN_SECONDS) * FRAMES_PER_SECOND)
    return {"model": model, "input": lyrics.replace("\r\n", "\n"),
            "instructions": request.prompt, "seed": request.seed,
            "max_new_tokens": min(MAX_FRAMES, frames), "response_format": "wav"}


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """A WAV answer as float32 (channels, samples) and its rate; BAD_AUDIO when it is not one."""
    try:
        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (RuntimeError, ValueError, soundfile.LibsndfileError) as exc:
        raise BAD_AUDIO.error() from exc
    if audio.shape[0] == 0:
        raise BAD_AUDIO.error()
    return np.ascontiguousarray(audio.T), int(rate)
