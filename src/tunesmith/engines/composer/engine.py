"""The built-in composer as an engine: prompt → plan → score → stems → master → MP3."""

from __future__ import annotations

from pathlib import Path

from tunesmith.audio.codec import duration_seconds, write_mp3
from tunesmith.config import BUILTIN_MODEL, Settings
from tunesmith.engines.base import GenerationRequest, Progress, Track
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
        """Compose, render and encode one track of exactly ``request.duration_seconds``."""
        from tunesmith.engines.composer.arrange import compose
        from tunesmith.engines.composer.prompt import interpret
        from tunesmith.engines.composer.render import render_score

        progress(0.02, "interpreting")
        spec = interpret(request.prompt)
        progress(0.05, "composing")
        score = compose(spec, duration=float(request.duration_seconds), seed=request.seed)

        def render_progress(fraction: float, stage: str) -> None:
            progress(0.08 + 0.8 * fraction, stage)

        audio = render_score(score, seed=request.seed, progress=render_progress)
        progress(0.9, "encoding")
        path = write_mp3(workdir / "track.mp3", audio)
        return Track(path=path, duration_seconds=duration_seconds(path), seed=request.seed,
                     lyrics=None, plan=score.plan())
