"""The built-in composer as an engine: interpret → write → render → mix → master → encode.

The writing wing (``writing/``) reads the prompt and writes the :class:`score.Score`; the sound
wing (``sound/``: ``render_score`` renders the parts, mixes and masters them) plays it; the
encoder makes the MP3. This module is the only one that knows both wings.
"""

from __future__ import annotations

from pathlib import Path

from tunesmith.audio.codec import duration_seconds, write_mp3
from tunesmith.config import BUILTIN_MODEL, Settings
from tunesmith.engines.base import EngineInputError, GenerationRequest, Progress, Track
from tunesmith.engines.registry import COMPOSER


class ComposerEngine:
    """Makes a track with no model weights, in seconds, on a CPU."""

    model_id = BUILTIN_MODEL
    capabilities = COMPOSER.capabilities

    def __init__(self, settings: Settings | None = None):
        self.settings = settings

    def unavailable_reason(self) -> str | None:
        return None

    def generate(self, request: GenerationRequest, progress: Progress, workdir: Path) -> Track:
        """Compose, render and encode one track of exactly ``request.duration_seconds``;
        unless it is instrumental, a voice sings the given lyrics or lyrics written for it."""
        from tunesmith.engines.composer.sound.render import render_score
        from tunesmith.engines.composer.writing.arrange import compose
        from tunesmith.engines.composer.writing.prompt import interpret
        from tunesmith.engines.composer.writing.song import compose_song

        progress(0.02, "interpreting")
        spec = interpret(request.prompt)
        _check_lyrics(request)
        progress(0.05, "writing lyrics" if request.lyrics is None and not request.instrumental
                 else "composing")
        duration = float(request.duration_seconds)
        lyrics, vocal = None, None
        if request.instrumental:
            score = compose(spec, duration=duration, seed=request.seed)
        else:
            score, song = compose_song(spec, duration, request.seed, request.lyrics)
            lyrics, vocal = song.lyrics, song.plan(score)

        def render_progress(fraction: float, stage: str) -> None:
            progress(0.08 + 0.8 * fraction, stage)

        rendered = [render_score(score, seed=request.seed, progress=render_progress)]
        progress(0.9, "encoding")
        # Handed over, not kept: the encoder frees the track once it has its padded copy.
        path = write_mp3(workdir / "track.mp3", rendered.pop())
        plan = score.plan() | ({"vocal": vocal} if vocal else {})
        return Track(path=path, duration_seconds=duration_seconds(path), seed=request.seed,
                     lyrics=lyrics, plan=plan)


def _check_lyrics(request: GenerationRequest) -> None:
    """Lyrics the composer cannot sing are the caller's to fix (400), not a failure."""
    from tunesmith.engines.composer.writing.lyrics import LyricsError, validate_lyrics

    try:
        validate_lyrics(request.lyrics, request.instrumental)
    except LyricsError as exc:
        raise EngineInputError(str(exc)) from exc
