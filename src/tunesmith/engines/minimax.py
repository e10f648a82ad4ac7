"""The MiniMax music models (``minimax/<name>``), called directly with the operator's key.

One track is one ``POST /v1/music_generation`` that answers after 1-5 minutes with the audio
as a link (expiring) or inline hex; we store the file at once and measure it. MiniMax writes
no lyrics in that call, so a vocal request without lyrics first asks ``/v1/lyrics_generation``
for them, and the response can carry them. Failures arrive as HTTP 200 with a
``base_resp.status_code``: :data:`STATUS_CODES` maps each to what our caller gets.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tunesmith.config import Settings
from tunesmith.engines import upstream
from tunesmith.engines.base import Capabilities, GenerationRequest, Progress, Track
from tunesmith.engines.registry import UPSTREAM
from tunesmith.engines.upstream import (
    BAD_ANSWER, CREDENTIALS, FAULT, Failure, UpstreamError, with_retries,
)

log = logging.getLogger("tunesmith.minimax")

MAX_PROMPT_CHARS = 2000
AUDIO_SETTING = {"sample_rate": 44100, "bitrate": 256000, "format": "mp3"}
#: How long a generation usually takes, for the progress estimate.
EXPECTED_SECONDS = 120.0
STATUS_DONE, STATUS_IN_PROGRESS = 2, 1

BALANCE = Failure(503, "upstream_unavailable",
                  "this server's upstream account cannot pay for generations right now; "
                  "retry later or try another model")
CONTENT = "content_policy_violation"

#: Every documented ``base_resp.status_code`` and what our caller gets for it.
STATUS_CODES: dict[int, Failure] = {
    1000: FAULT,
    1001: Failure(504, "upstream_timeout", "MiniMax timed out generating this track; retry "
                  "the request", retryable=True),
    1002: Failure(429, "rate_limited", "MiniMax is rate limiting this server; retry later",
                  retryable=True),
    1004: CREDENTIALS,
    1008: BALANCE,
    1024: FAULT,
    1026: Failure(400, CONTENT, "MiniMax refused the prompt or lyrics as sensitive content; "
                  "change them"),
    1027: Failure(400, CONTENT, "MiniMax flagged the generated track as sensitive content; "
                  "change the prompt or lyrics"),
    1039: Failure(400, "invalid_request", "the prompt and lyrics are over MiniMax's token "
                  "limit; shorten them"),
    1041: Failure(429, "rate_limited", "MiniMax's limit of concurrent generations for this "
                  "server is reached; retry later", retryable=True),
    2013: Failure(400, "invalid_request", "MiniMax rejected the request: {detail}"),
    2049: CREDENTIALS,
    2056: Failure(503, "upstream_quota_exhausted", "this server's MiniMax usage window is "
                  "used up; retry later or try another model", retry_after=600),
}
UNFINISHED = Failure(502, "upstream_unfinished", "MiniMax answered before the track was "
                     "finished; retry the request", retryable=True)


class MiniMaxEngine:
    """``minimax/<name>``: MiniMax's music models through its HTTP API."""

    model_id = "minimax/music-2.5+"
    capabilities: Capabilities = UPSTREAM

    def __init__(self, settings: Settings):
        self.settings = settings
        self.base = settings.minimax_base_url.rstrip("/")
        self.http = upstream.http_client(settings)

    def unavailable_reason(self) -> str | None:
        return None if self.settings.minimax_api_key else "set TUNESMITH_MINIMAX_API_KEY"

    def generate(self, request: GenerationRequest, progress: Progress, workdir: Path) -> Track:
        """Write lyrics if needed, generate upstream, then store the audio in ``workdir``."""
        lyrics = request.lyrics
        if lyrics is None and not request.instrumental:
            progress(0.02, "writing lyrics")
            lyrics = upstream.wait_with_progress(lambda: self.write_lyrics(request.prompt),
                                                 progress, 0.02, 0.1, "writing lyrics", 30.0)
        body = music_body(request, lyrics, self.settings.minimax_output_format)
        progress(0.1, "generating")
        audio = upstream.wait_with_progress(lambda: self.call_music(body), progress, 0.1,
                                            0.9, "generating", EXPECTED_SECONDS)
        progress(0.9, "downloading")
        path = self.save(audio, workdir / "track.mp3")
        return Track(path=path, duration_seconds=upstream.measure(path), seed=request.seed,
                     lyrics=lyrics, plan={})

    # -- calls -----------------------------------------------------------------------------------
    def write_lyrics(self, prompt: str) -> str:
        """Full-song lyrics for ``prompt`` (section tags included) from MiniMax."""
        body = {"mode": "write_full_song", "prompt": prompt[:MAX_PROMPT_CHARS]}
        answer = with_retries(lambda: self._call("/v1/lyrics_generation", body))
        lyrics = answer.get("lyrics")
        if not isinstance(lyrics, str) or not lyrics.strip():
            raise BAD_ANSWER.error()
        return lyrics.strip()

    def call_music(self, body: dict[str, Any]) -> str:
        """The finished track's audio (a link or hex), retrying what can be retried."""
        return with_retries(lambda: finished_audio(self._call("/v1/music_generation", body)))

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.settings.minimax_api_key}"}
        answer = upstream.post_json(self.http, f"{self.base}{path}", body, headers)
        check_status(answer)
        return answer

    def save(self, audio: str, dest: Path) -> Path:
        if self.settings.minimax_output_format == "url":
            return upstream.download(self.http, audio, dest)
        return upstream.write_hex(audio, dest)


def music_body(request: GenerationRequest, lyrics: str | None,
               output_format: str) -> dict[str, Any]:
    """The ``/v1/music_generation`` body for one of our requests."""
    body: dict[str, Any] = {
        "model": upstream_model(request.model),
        "prompt": upstream.duration_hint(request.prompt, request.duration_seconds,
                                         MAX_PROMPT_CHARS),
        "is_instrumental": request.instrumental,
        "output_format": output_format,
        "audio_setting": dict(AUDIO_SETTING),
    }
    if lyrics and not request.instrumental:
        # Section tags ([Verse], [Chorus] ...) pass through: MiniMax reads them itself.
        body["lyrics"] = lyrics.replace("\r\n", "\n")
    return body


def upstream_model(model_id: str) -> str:
    """``minimax/music-2.5+`` → ``music-2.5+``."""
    return model_id.split("/", 1)[1] if model_id.startswith("minimax/") else model_id


def check_status(answer: dict[str, Any]) -> None:
    """Raise the mapped error when ``base_resp`` reports a failure."""
    base = answer.get("base_resp") or {}
    code = base.get("status_code", 0) if isinstance(base, dict) else None
    if code == 0:
        return
    if not isinstance(code, int):
        raise BAD_ANSWER.error()
    failure = STATUS_CODES.get(code, FAULT if code < 2000 else BAD_ANSWER)
    log.warning("MiniMax answered status %s (trace %s)", code, answer.get("trace_id"))
    raise failure.error(str(base.get("status_msg") or ""))


def finished_audio(answer: dict[str, Any]) -> str:
    """The audio of a finished track; UNFINISHED while MiniMax reports status 1."""
    data = answer.get("data")
    if not isinstance(data, dict):
        raise BAD_ANSWER.error()
    if data.get("status") == STATUS_IN_PROGRESS:
        raise UNFINISHED.error()
    audio = data.get("audio")
    if data.get("status") != STATUS_DONE or not isinstance(audio, str) or not audio:
        raise BAD_ANSWER.error()
    return audio


__all__ = ["STATUS_CODES", "MiniMaxEngine", "UpstreamError", "music_body"]
